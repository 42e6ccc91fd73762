import { spawn, execFileSync, type ChildProcess } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { cpus } from 'node:os'
import { setTimeout as sleep } from 'node:timers/promises'
import { httpRequest } from './http.js'

/** A port nobody listens on now; the child binds it a moment later (loopback only, so a clash is unlikely). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.unref()
    server.on('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))))
    })
  })
}

/** A measured child process: its pid is what the meters read, its output is kept for when it fails. */
export class Child {
  private output = ''
  private exited: Promise<number | null>

  private constructor(
    readonly name: string,
    private readonly child: ChildProcess
  ) {
    const keep = (chunk: Buffer) => {
      // Only the tail: a failing child's last words are what explains it.
      this.output = (this.output + chunk.toString('utf8')).slice(-8000)
    }
    child.stdout?.on('data', keep)
    child.stderr?.on('data', keep)
    this.exited = new Promise((resolve) => child.on('exit', (code) => resolve(code)))
    running.add(this)
  }

  /** Starts `node [nodeArgs] --import tsx script` in `cwd`; tsx so either tree runs from source. */
  static start(name: string, script: string, options: { cwd: string; env: NodeJS.ProcessEnv; nodeArgs?: readonly string[] }): Child {
    const child = spawn(process.execPath, [...(options.nodeArgs ?? []), '--import', 'tsx', script], {
      cwd: options.cwd,
      env: options.env,
      stdio: ['ignore', 'pipe', 'pipe']
    })
    return new Child(name, child)
  }

  get pid(): number {
    if (this.child.pid === undefined) throw new Error(`${this.name} did not start`)
    return this.child.pid
  }

  get log(): string {
    return this.output
  }

  /** Resolves with the exit code; for children that run a job and end (the COPY baseline). */
  wait(): Promise<number | null> {
    return this.exited.finally(() => running.delete(this))
  }

  /** Polls `url` until it answers 200: the child has bound its port and, for the service, migrated. */
  async ready(url: string, timeoutMs = 120_000): Promise<void> {
    const deadline = Date.now() + timeoutMs
    let exitCode: number | null | undefined
    void this.exited.then((code) => (exitCode = code))
    while (Date.now() < deadline) {
      if (exitCode !== undefined) throw new Error(`${this.name} exited with ${exitCode} before it was ready:\n${this.output}`)
      const status = await httpRequest('GET', url, { timeoutMs: 2000 }).then(
        (r) => r.status,
        () => 0
      )
      if (status === 200) return
      await sleep(100)
    }
    throw new Error(`${this.name} was not ready within ${timeoutMs} ms:\n${this.output}`)
  }

  /** SIGTERM (the service closes gracefully, and a --cpu-prof profile is written), SIGKILL if it hangs. */
  async stop(graceMs = 20_000): Promise<number | null> {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      this.child.kill('SIGTERM')
      const timer = setTimeout(() => this.child.kill('SIGKILL'), graceMs)
      const code = await this.exited
      clearTimeout(timer)
      running.delete(this)
      return code
    }
    running.delete(this)
    return this.child.exitCode
  }
}

const running = new Set<Child>()

/** Ends every child this run started (only those, by their own handle), e.g. when the bench fails. */
export async function stopAll(): Promise<void> {
  await Promise.all([...running].map((child) => child.stop(5000)))
}

const CLOCK_TICKS = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100
  } catch {
    return 100
  }
})()

/** CPU seconds (user + system) a process has used so far, from /proc/<pid>/stat. */
function processCpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    // Fields after the command name (which may hold spaces) start at field 3.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS
  } catch {
    return 0
  }
}

/** Busy and total CPU seconds of the whole machine, from the first line of /proc/stat. */
function machineCpuSeconds(): { busy: number; total: number } {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0]!
  const ticks = line.trim().split(/\s+/).slice(1).map(Number)
  const total = ticks.reduce((a, b) => a + b, 0)
  const idle = (ticks[3] ?? 0) + (ticks[4] ?? 0)
  return { busy: (total - idle) / CLOCK_TICKS, total: total / CLOCK_TICKS }
}

function rssKiB(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  try {
    const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
    return match ? Number(match[1]) : 0
  } catch {
    return 0
  }
}

/** CPU use over an interval, in cores (1.0 = one core busy the whole time). */
export interface CpuUse {
  /** This bench process: autocannon, the load generator, shares the machine with the target. */
  readonly bench: number
  /** The measured process (the server, or the COPY client). */
  readonly target: number
  /** The bench database's PostgreSQL backends (PostgreSQL only; its WAL writer and checkpointer are not in it). */
  readonly database?: number
  /** Everything on the machine, PostgreSQL's backends included. */
  readonly machine: number
  readonly cores: number
}

export interface Metered<T> {
  readonly value: T
  readonly seconds: number
  /** Peak resident set of the target during the interval (sampled VmRSS), MiB. */
  readonly peakRssMiB: number
  readonly cpu: CpuUse
  /** The interval on the monotonic clock in µs, the clock V8 stamps profile samples with. */
  readonly window: { readonly startUs: number; readonly endUs: number }
}

const monotonicUs = () => Number(process.hrtime.bigint() / 1000n)

const SAMPLE_MS = 50

/**
 * Runs `work` while sampling the target's resident set and everyone's CPU time. VmRSS is
 * sampled rather than VmHWM read because one service process serves several figures, and
 * VmHWM would carry the peak of an earlier one.
 */
export async function metered<T>(pid: number, work: () => Promise<T>, databasePids?: () => Promise<number[]>): Promise<Metered<T>> {
  // A pool closes connections that idle (pg's default after 10 s) and opens new ones, so
  // backends come and go within a figure: each is followed from when it is first seen, and one
  // that has exited keeps the CPU time last sampled (a gone process reads as 0).
  const backends = new Map<number, { readonly start: number; last: number }>()
  const follow = (pids: readonly number[], started: boolean) => {
    for (const p of pids) {
      if (backends.has(p)) continue
      const cpu = processCpuSeconds(p)
      backends.set(p, { start: started ? 0 : cpu, last: cpu })
    }
  }
  const sampleBackends = () => {
    for (const [p, cpu] of backends) cpu.last = Math.max(cpu.last, processCpuSeconds(p))
  }
  follow((await databasePids?.()) ?? [], false)
  let peak = rssKiB(pid, 'VmRSS')
  const sampler = setInterval(() => {
    peak = Math.max(peak, rssKiB(pid, 'VmRSS'))
    sampleBackends()
  }, SAMPLE_MS)
  const bench0 = process.cpuUsage()
  const target0 = processCpuSeconds(pid)
  const machine0 = machineCpuSeconds()
  const t0 = performance.now()
  const startUs = monotonicUs()
  try {
    const value = await work()
    const endUs = monotonicUs()
    const seconds = (performance.now() - t0) / 1000
    peak = Math.max(peak, rssKiB(pid, 'VmRSS'))
    const bench = process.cpuUsage(bench0)
    const machine1 = machineCpuSeconds()
    const target1 = processCpuSeconds(pid)
    sampleBackends()
    // Backends opened during the figure: all of their CPU time is within it.
    if (databasePids) follow(await databasePids(), true)
    const cores = cpus().length
    return {
      value,
      seconds,
      peakRssMiB: peak / 1024,
      window: { startUs, endUs },
      cpu: {
        bench: (bench.user + bench.system) / 1e6 / seconds,
        target: (target1 - target0) / seconds,
        ...(databasePids ? { database: [...backends.values()].reduce((sum, cpu) => sum + cpu.last - cpu.start, 0) / seconds } : {}),
        machine: ((machine1.busy - machine0.busy) / (machine1.total - machine0.total)) * cores,
        cores
      }
    }
  } finally {
    clearInterval(sampler)
  }
}

/** Cores busy on the machine over `ms` while this bench is idle: other people's work that would skew a figure. */
export async function backgroundLoad(ms = 1000): Promise<number> {
  const a = machineCpuSeconds()
  await sleep(ms)
  const b = machineCpuSeconds()
  return ((b.busy - a.busy) / (b.total - a.total)) * cpus().length
}

/**
 * Waits (up to `maxWaitMs`) until the rest of the machine is nearly idle, so that a figure is not
 * someone else's test suite; returns the last background measured, to be reported beside it.
 */
export async function waitForQuiet(thresholdCores: number, maxWaitMs: number): Promise<number> {
  const deadline = Date.now() + maxWaitMs
  let load = await backgroundLoad()
  let told = false
  while (load > thresholdCores && Date.now() < deadline) {
    if (!told) process.stdout.write(`    waiting for the machine to quieten (${load.toFixed(2)} cores busy elsewhere)\n`)
    told = true
    load = await backgroundLoad()
  }
  return load
}
