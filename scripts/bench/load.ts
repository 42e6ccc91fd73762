import autocannon from 'autocannon'
import { setTimeout as sleep } from 'node:timers/promises'
import { metered, waitForQuiet, type CpuUse } from './proc.js'

/** One measured load against one URL. */
export interface LoadSpec {
  readonly name: string
  readonly url: string
  readonly method: 'GET' | 'POST'
  readonly connections: number
  readonly headers?: Readonly<Record<string, string>>
  /** Request bodies, sent in turn (a different one per request where there are several). */
  readonly bodies?: readonly string[]
  /** Statuses that are a valid answer: for transfers a 403 deny is one, 429 and 5xx never are. */
  readonly ok: readonly number[]
  /** Ledger entries one successful request writes (1000 for a full batch), for entries/s. */
  readonly entriesPerRequest?: number
  readonly timeoutSeconds?: number
}

export interface Figure {
  readonly name: string
  readonly connections: number
  readonly seconds: number
  readonly requests: number
  /** Successful requests per second. */
  readonly rps: number
  readonly entriesPerSecond?: number
  readonly p50Ms: number
  readonly p99Ms: number
  readonly maxMs: number
  readonly okCount: number
  /** Every answer outside `ok`, by status, plus socket errors and timeouts. */
  readonly errors: Readonly<Record<string, number>>
  readonly statuses: Readonly<Record<string, number>>
  readonly peakRssMiB: number
  readonly cpu: CpuUse
  /** Cores busy on the machine just before the figure, with this bench and its target idle: others' work. */
  readonly backgroundCores: number
  /** When the figure ran, on the monotonic clock (µs): lets a CPU profile be cut to it. */
  readonly window?: { readonly startUs: number; readonly endUs: number }
  readonly notes?: Readonly<Record<string, unknown>>
}

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return 0
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!
}

interface RawRun {
  latencies: Float64Array
  statuses: Record<string, number>
  errors: number
  timeouts: number
}

function runAutocannon(spec: LoadSpec, duration: number): Promise<RawRun> {
  const bodies = spec.bodies ?? []
  let next = 0
  // autocannon's own latency histogram has 1 ms resolution; p50 of a check is ~1 ms, so every
  // response time is kept here instead (a few hundred thousand doubles at most).
  let latencies = new Float64Array(1 << 16)
  let count = 0
  const statuses: Record<string, number> = {}
  return new Promise((resolve, reject) => {
    const instance = autocannon(
      {
        url: spec.url,
        method: spec.method,
        connections: spec.connections,
        pipelining: 1,
        duration,
        timeout: spec.timeoutSeconds ?? 30,
        headers: { ...spec.headers, ...(bodies.length > 0 ? { 'content-type': 'application/json' } : {}) },
        ...(bodies.length === 1 ? { body: bodies[0] } : {}),
        ...(bodies.length > 1
          ? {
              requests: [
                {
                  method: spec.method,
                  setupRequest: (request) => {
                    request.body = bodies[next++ % bodies.length]
                    return request
                  }
                }
              ]
            }
          : {})
      },
      (err: unknown, result: autocannon.Result) => {
        if (err) return reject(err instanceof Error ? err : new Error('autocannon failed', { cause: err }))
        resolve({ latencies: latencies.subarray(0, count), statuses, errors: result.errors, timeouts: result.timeouts })
      }
    )
    instance.on('response', (_client, statusCode, _bytes, responseTime) => {
      if (count === latencies.length) {
        const grown = new Float64Array(latencies.length * 2)
        grown.set(latencies)
        latencies = grown
      }
      latencies[count++] = responseTime
      statuses[statusCode] = (statuses[statusCode] ?? 0) + 1
    })
  })
}

/**
 * Counters read on both sides of a figure's measured window, never its warm-up: called as the
 * window opens, it reads them and returns what reads them again at its end and turns the
 * difference into notes on the figure.
 */
export type WindowProbe = () => Promise<(figure: Figure) => Promise<Record<string, unknown>>>

export interface MeasureOptions {
  readonly duration: number
  readonly warmup: number
  /** Wait before the figure until other processes use at most this many cores … */
  readonly quietCores: number
  /** … but no longer than this. */
  readonly quietWaitSeconds: number
  /** The bench database's backend processes, whose CPU time is reported beside the target's. */
  readonly databasePids?: (() => Promise<number[]>) | undefined
  readonly probes?: readonly WindowProbe[]
}

/**
 * Waits for a quiet machine, warms up (discarded), then loads `spec` for `duration` seconds while metering the target
 * process `pid`. Latency percentiles cover every answer, valid or not.
 */
export async function measure(spec: LoadSpec, pid: number, options: MeasureOptions): Promise<Figure> {
  const backgroundCores = await waitForQuiet(options.quietCores, options.quietWaitSeconds * 1000)
  if (options.warmup > 0) {
    await runAutocannon(spec, options.warmup)
    // Requests cut off at the end of the warm-up are still being served; let them drain.
    await sleep(500)
  }
  const finishProbes = await Promise.all((options.probes ?? []).map((probe) => probe()))
  const run = await metered(pid, () => runAutocannon(spec, options.duration), options.databasePids)
  const { latencies, statuses, errors: socketErrors, timeouts } = run.value
  const sorted = latencies.slice().sort()
  let okCount = 0
  const errors: Record<string, number> = {}
  for (const [status, n] of Object.entries(statuses)) {
    if (spec.ok.includes(Number(status))) okCount += n
    else errors[status] = n
  }
  // autocannon counts a timeout as an error too; report them apart.
  if (socketErrors - timeouts > 0) errors.socket = socketErrors - timeouts
  if (timeouts > 0) errors.timeout = timeouts
  const rps = okCount / run.seconds
  const figure: Figure = {
    name: spec.name,
    connections: spec.connections,
    seconds: run.seconds,
    requests: latencies.length,
    rps,
    ...(spec.entriesPerRequest !== undefined ? { entriesPerSecond: rps * spec.entriesPerRequest } : {}),
    p50Ms: percentile(sorted, 50),
    p99Ms: percentile(sorted, 99),
    maxMs: sorted.length ? sorted[sorted.length - 1]! : 0,
    okCount,
    errors,
    statuses,
    peakRssMiB: run.peakRssMiB,
    cpu: run.cpu,
    backgroundCores,
    window: run.window
  }
  printFigure(figure)
  if (finishProbes.length === 0) return figure
  const notes = await Promise.all(finishProbes.map((finish) => finish(figure)))
  return { ...figure, notes: Object.assign({}, figure.notes, ...notes) as Record<string, unknown> }
}

/** One line of the run's progress on stdout. */
export function say(text: string): void {
  process.stdout.write(`${text}\n`)
}

/** A progress line per figure, so a long run shows where it is. */
export function printFigure(
  f: Pick<Figure, 'name' | 'rps' | 'p50Ms' | 'p99Ms' | 'errors' | 'peakRssMiB' | 'cpu'> & { entriesPerSecond?: number | undefined }
): void {
  const errs = Object.entries(f.errors)
  process.stdout.write(
    `  ${f.name.padEnd(34)}` +
      (Number.isNaN(f.rps) ? '' : ` ${f.rps.toFixed(f.rps < 100 ? 1 : 0).padStart(8)} req/s`) +
      (f.entriesPerSecond !== undefined ? ` ${f.entriesPerSecond.toFixed(0).padStart(8)} entries/s` : '') +
      (Number.isNaN(f.p99Ms) ? '' : `  p50 ${f.p50Ms.toFixed(2)} ms  p99 ${f.p99Ms.toFixed(2)} ms`) +
      `  rss ${f.peakRssMiB.toFixed(0)} MiB` +
      `  cpu bench/target/db/machine ${f.cpu.bench.toFixed(2)}/${f.cpu.target.toFixed(2)}/${f.cpu.database?.toFixed(2) ?? '-'}/${f.cpu.machine.toFixed(2)}` +
      (errs.length ? `  ERRORS ${errs.map(([k, v]) => `${k}:${v}`).join(' ')}` : '') +
      '\n'
  )
}
