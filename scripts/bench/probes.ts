import { setTimeout as sleep } from 'node:timers/promises'
import type pg from 'pg'
import { walCounters } from './database.js'
import { expectStatus } from './http.js'
import { say, type WindowProbe } from './load.js'

/**
 * WAL flushes and commits over a figure (PostgreSQL only). Transactions per request show the
 * round trips a request makes (each autocommitted query is one); commits per flush show what
 * group commit achieves. The flush count is the whole server's: other databases' writes during
 * the figure are in it.
 */
export function walProbe(client: pg.Client): WindowProbe {
  // Backends report their commit counts to the statistics at most once a second: wait that long
  // on each side, so the warm-up's commits land before the window and the window's within it.
  const settled = async () => {
    await sleep(1100)
    return walCounters(client)
  }
  return async () => {
    const before = await settled()
    return async (figure) => {
      const after = await settled()
      const walSync = after.walSync - before.walSync
      const commits = after.commits - before.commits
      const notes = {
        walSyncPerSecond: +(walSync / figure.seconds).toFixed(0),
        commitsPerSecond: +(commits / figure.seconds).toFixed(0),
        commitsPerWalSync: walSync > 0 ? +(commits / walSync).toFixed(2) : null,
        transactionsPerRequest: figure.requests > 0 ? +(commits / figure.requests).toFixed(2) : null,
        walCountersAreClusterWide: true
      }
      say(
        `    wal: ${notes.walSyncPerSecond} flushes/s, ${notes.commitsPerSecond} commits/s, ${notes.commitsPerWalSync ?? '–'} commits per flush, ${notes.transactionsPerRequest ?? '–'} transactions per request`
      )
      return notes
    }
  }
}

/** The `_sum` and `_count` of the unlabelled histograms in a Prometheus text exposition. */
function histogramTotals(exposition: string): Map<string, number> {
  const totals = new Map<string, number>()
  for (const match of exposition.matchAll(/^(\w+_(?:sum|count)) (\S+)$/gm)) totals.set(match[1]!, Number(match[2]))
  return totals
}

const GROUP_ENTRIES = 'shizenha_ledger_group_entries'
const GROUP_SECONDS = 'shizenha_ledger_group_commit_duration_seconds'
const HEADS_WAIT = 'shizenha_ledger_group_heads_wait_seconds'

/**
 * The service's group commit over a figure, from its /metrics: groups per second, entries per
 * group, and how long a group's transaction lasted and waited for its chains' heads. The time
 * the heads were held, per second of the window, says how busy the chains were: on one member's
 * chain, near 1 means each group waited for the one before it the whole window, and the chain
 * (not the service's CPU) set the pace. A service too old to report the wait leaves it out.
 */
export function groupCommitProbe(metricsUrl: string): WindowProbe {
  const read = async () => histogramTotals((await expectStatus(200, 'GET', metricsUrl)).text)
  return async () => {
    const before = await read()
    return async (figure) => {
      const after = await read()
      const delta = (name: string) => {
        const [a, b] = [after.get(name), before.get(name)]
        return a === undefined || b === undefined ? undefined : a - b
      }
      const groups = delta(`${GROUP_ENTRIES}_count`) ?? 0
      if (groups === 0) return {}
      const transactionSeconds = delta(`${GROUP_SECONDS}_sum`)!
      const waitSeconds = delta(`${HEADS_WAIT}_sum`)
      const notes = {
        groupsPerSecond: +(groups / figure.seconds).toFixed(0),
        entriesPerGroup: +(delta(`${GROUP_ENTRIES}_sum`)! / groups).toFixed(1),
        groupTransactionMs: +((transactionSeconds / groups) * 1000).toFixed(2),
        ...(waitSeconds === undefined
          ? {}
          : {
              groupHeadsWaitMs: +((waitSeconds / groups) * 1000).toFixed(2),
              headsHeldPerSecond: +((transactionSeconds - waitSeconds) / figure.seconds).toFixed(2)
            })
      }
      say(
        `    groups: ${notes.groupsPerSecond}/s, ${notes.entriesPerGroup} entries each, transaction ${notes.groupTransactionMs} ms` +
          ('groupHeadsWaitMs' in notes ? ` (${notes.groupHeadsWaitMs} ms of it waiting for heads), heads held ${notes.headsHeldPerSecond} s per second` : '')
      )
      return notes
    }
  }
}
