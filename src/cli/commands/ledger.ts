import type { Writable } from 'node:stream'
import type { CheckpointView } from '../../ledger/checkpoints-service.js'
import { pagingOf } from '../../ledger/paging.js'
import type { VerifyReport } from '../../ledger/verify-walk.js'
import { DomainError } from '../../errors.js'
import { checkpointService, withDatabase } from '../database-access.js'
import { CliError, EXIT, failure } from '../exit.js'
import type { ServiceApi } from '../service-api.js'
import { printJson, Progress, table, toOutput, writeChunks } from '../terminal.js'

// ---------------------------------------------------------------------------------------------
// verify

function failureLine(f: { entryId: string | null; chain: number; seq: number; problem: string }): string {
  return f.entryId === null ? `chain ${f.chain}: ${f.problem}` : `chain ${f.chain} seq ${f.seq}, entry ${f.entryId}: ${f.problem}`
}

function printReport(report: VerifyReport): void {
  const mode = report.mode === 'incremental' && report.from ? `incremental, from checkpoint ${report.from.id}` : 'full'
  const summary = `${report.entriesChecked} entries checked (${mode}), ${report.chains.length} chains`
  process.stdout.write(
    table(
      ['chain', 'ok', 'length', 'head'],
      report.chains.map((c) => [String(c.chain), c.ok ? 'ok' : 'NOT OK', String(c.length), c.failure ? failureLine(c.failure) : c.headHash])
    )
  )
  if (report.ok) process.stdout.write(`ok: ${summary}\n`)
  else process.stdout.write(`NOT OK: ${summary}; first failure: ${report.firstFailure ? failureLine(report.firstFailure) : 'unknown'}\n`)
}

/**
 * Recomputes every hash chain. Exits 1 when the ledger does not verify. Full by default (every
 * entry walked); `incremental` starts from the last checkpoint a signed verify reached.
 */
export async function verifyCommand(options: { json: boolean; incremental: boolean }, service: ServiceApi | undefined): Promise<void> {
  const progress = new Progress('verifying the ledger').tick()
  let report: VerifyReport
  try {
    report = service
      ? await service.json<VerifyReport>('GET', 'v1/ledger/verify', { query: { full: options.incremental ? undefined : 'true' } })
      : await withDatabase(async (database, config) => {
          const checkpoints = checkpointService(database, config)
          // A configured key lets an incremental run start from a verified checkpoint; the
          // embedded database's own key is never generated for a verify.
          if (config.checkpointSigningKey !== undefined || config.checkpointSigningKeyFile !== undefined) await checkpoints.signer()
          return checkpoints.verify(!options.incremental)
        })
  } finally {
    progress.done()
  }
  if (options.json) printJson(report)
  else printReport(report)
  if (!report.ok) throw new CliError('the ledger does not verify', EXIT.failure)
}

// ---------------------------------------------------------------------------------------------
// export ledger

/**
 * Every entry as JSON Lines in chain and seq order, then the trailer line (the heads the
 * export ends at, signed when a key is configured), exactly as GET /v1/ledger/export sends it.
 * Check it with `node scripts/verify-ledger-export.mjs <file>`.
 */
export async function exportLedgerCommand(options: { output?: string | undefined }, service: ServiceApi | undefined): Promise<void> {
  const progress = new Progress('exporting the ledger')
  let written = 0
  const counted = (total: number | undefined) => (lines: number) => {
    written = lines
    progress.update(total === undefined ? `${lines} entries` : `${Math.min(lines, total)} of ${total} entries`)
  }
  try {
    await toOutput(options.output, async (out: Writable) => {
      if (service) {
        const response = await service.send('GET', 'v1/ledger/export')
        if (!response.body) throw failure('the service sent an empty export')
        await writeChunks(out, response.body as AsyncIterable<Uint8Array>, counted(undefined))
        return
      }
      await withDatabase(async (database, config) => {
        const { entries, lines } = await checkpointService(database, config).exportLedger(database.reader, pagingOf(database.capabilities))
        await writeChunks(out, lines, counted(entries))
      })
    })
  } finally {
    progress.done()
  }
  if (options.output !== undefined && options.output !== '-') {
    process.stderr.write(`wrote ${Math.max(0, written - 1)} entries and the trailer to ${options.output}\n`)
  }
}

// ---------------------------------------------------------------------------------------------
// checkpoint

/**
 * Signs the heads of every chain now (POST /v1/ledger/checkpoints, or directly with the
 * service's key settings) and prints the signed note, the text to keep outside the co-op.
 */
export async function checkpointCommand(options: { json: boolean }, service: ServiceApi | undefined): Promise<void> {
  let checkpoint: CheckpointView
  if (service) {
    try {
      checkpoint = await service.json<CheckpointView>('POST', 'v1/ledger/checkpoints')
    } catch (err) {
      if (err instanceof CliError && err.code === 'route_not_found') {
        throw failure(`checkpoints are not available on the service at ${service.origin}: it has no POST /v1/ledger/checkpoints (an older version)`)
      }
      throw err
    }
  } else {
    checkpoint = await withDatabase(async (database, config) => {
      try {
        return await checkpointService(database, config).take()
      } catch (err) {
        // The service's refusals (no key, a rewritten ledger) are answers for the operator.
        if (err instanceof DomainError) throw failure(`${err.code}: ${err.message}`)
        throw err
      }
    })
  }
  if (options.json) return printJson(checkpoint)
  process.stderr.write(`checkpoint ${checkpoint.id}: ${checkpoint.treeSize} entries, signed by key ${checkpoint.keyId}\n`)
  process.stdout.write(checkpoint.note)
}
