// Summarises a V8 .cpuprofile (node --cpu-prof) as the functions with the most self time.
// Also runnable alone: tsx scripts/bench/profile.ts FILE.cpuprofile [N]
import { readFile } from 'node:fs/promises'
import path from 'node:path'
import { pathToFileURL } from 'node:url'

interface ProfileNode {
  id: number
  callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number }
}

interface CpuProfile {
  nodes: ProfileNode[]
  samples: number[]
  timeDeltas: number[]
  startTime: number
  endTime: number
}

export interface HotFunction {
  readonly name: string
  /** file:line, shortened to the package or the tree it lives in. */
  readonly where: string
  readonly selfMs: number
  /** Share of the busy (non-idle) samples. */
  readonly selfPercent: number
}

function shorten(url: string): string {
  if (!url) return '(native)'
  const file = url.startsWith('file://') ? new URL(url).pathname : url
  const nm = file.lastIndexOf('/node_modules/')
  if (nm >= 0) return file.slice(nm + '/node_modules/'.length)
  const src = file.search(/\/(src|migrations|scripts)\//)
  return src >= 0 ? file.slice(src + 1) : file
}

/**
 * Self time per function (same name, file and line merged over call sites), busiest first.
 * With `window` (µs on the monotonic clock, which V8's sample stamps and process.hrtime share on
 * Linux), only the samples inside it count: the load, not the start-up's module compilation.
 */
export function summarise(
  profile: CpuProfile,
  top = 10,
  window?: { startUs: number; endUs: number }
): { busyMs: number; totalMs: number; idleMs: number; functions: HotFunction[] } {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]))
  const selfUs = new Map<string, { name: string; where: string; us: number }>()
  let idleUs = 0
  let totalUs = 0
  // timeDeltas[i] is the time from sample i-1 to sample i: attribute it to sample i.
  let at = profile.startTime
  profile.samples.forEach((id, i) => {
    const delta = profile.timeDeltas[i] ?? 0
    at += delta
    if (window && (at < window.startUs || at > window.endUs)) return
    const frame = byId.get(id)?.callFrame
    if (!frame) return
    totalUs += delta
    if (frame.functionName === '(idle)') {
      idleUs += delta
      return
    }
    const where = frame.url ? `${shorten(frame.url)}:${frame.lineNumber + 1}` : '(native)'
    const name = frame.functionName || '(anonymous)'
    const key = `${name}\u0000${where}`
    const entry = selfUs.get(key) ?? { name, where, us: 0 }
    entry.us += delta
    selfUs.set(key, entry)
  })
  const busyUs = totalUs - idleUs
  const functions = [...selfUs.values()]
    .sort((a, b) => b.us - a.us)
    .slice(0, top)
    .map((f) => ({ name: f.name, where: f.where, selfMs: f.us / 1000, selfPercent: busyUs > 0 ? (100 * f.us) / busyUs : 0 }))
  return { busyMs: busyUs / 1000, totalMs: totalUs / 1000, idleMs: idleUs / 1000, functions }
}

export async function summariseFile(file: string, top = 10, window?: { startUs: number; endUs: number }) {
  return summarise(JSON.parse(await readFile(file, 'utf8')) as CpuProfile, top, window)
}

export function formatSummary(summary: Awaited<ReturnType<typeof summariseFile>>): string {
  const lines = [
    `busy ${summary.busyMs.toFixed(0)} ms of ${summary.totalMs.toFixed(0)} ms sampled (idle ${summary.idleMs.toFixed(0)} ms)`,
    '| # | self ms | self % of busy | function | where |',
    '|---|---:|---:|---|---|',
    ...summary.functions.map((f, i) => `| ${i + 1} | ${f.selfMs.toFixed(0)} | ${f.selfPercent.toFixed(1)} | \`${f.name}\` | ${f.where} |`)
  ]
  return lines.join('\n')
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  const [file, n] = process.argv.slice(2)
  if (!file) {
    process.stderr.write('usage: tsx scripts/bench/profile.ts FILE.cpuprofile [N]\n')
    process.exit(2)
  }
  process.stdout.write(`${formatSummary(await summariseFile(file, n ? Number(n) : 10))}\n`)
}
