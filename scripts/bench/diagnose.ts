import { execFile } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdir, mkdtemp, readdir, rm, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { promisify } from 'node:util'
import { summariseFile } from './profile.js'

const run = promisify(execFile)

/**
 * How many WAL flushes per second this disk allows: the ceiling of one-commit-per-request
 * appends, whatever the service does above it. The test file goes to the temporary folder,
 * which must be on the same file system as the data directory to mean anything (checked by the
 * caller, who knows the data directory).
 */
export async function pgTestFsync(
  walSyncMethod: string
): Promise<{ output: string; opsPerSecond: Record<string, number>; walSyncMethodRate?: number } | { skipped: string }> {
  const binary = ['/usr/lib/postgresql/15/bin/pg_test_fsync', '/usr/lib/postgresql/16/bin/pg_test_fsync'].find(existsSync)
  if (!binary) return { skipped: 'pg_test_fsync not found' }
  const dir = await mkdtemp(path.join(tmpdir(), 'bench-fsync-'))
  try {
    const { stdout } = await run(binary, ['-s', '2', '-f', path.join(dir, 'pg_test_fsync.out')], { maxBuffer: 1 << 20 })
    // The first section ("one 8kB write") is what a single commit's WAL flush costs.
    const section = stdout.split(/\n\s*\n/).find((s) => s.includes('one 8kB write')) ?? stdout
    const opsPerSecond: Record<string, number> = {}
    for (const match of section.matchAll(/^\s+(\S+)\s+(?:\*\s+)?([\d.]+) ops\/sec/gm)) opsPerSecond[match[1]!] = Number(match[2])
    const walSyncMethodRate = opsPerSecond[walSyncMethod]
    return { output: stdout, opsPerSecond, ...(walSyncMethodRate !== undefined ? { walSyncMethodRate } : {}) }
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}

/**
 * A directory for `node --cpu-prof-dir` under the results folder (the profile is kept there, for
 * a closer look in Chrome DevTools), and the summary of the profile once the process has ended.
 */
export async function profileDir(outDir: string): Promise<{
  dir: string
  summarise: (window?: { startUs: number; endUs: number }) => Promise<Awaited<ReturnType<typeof summariseFile>> & { file: string }>
}> {
  await mkdir(outDir, { recursive: true })
  const dir = await mkdtemp(path.join(outDir, 'cpuprofile-'))
  return {
    dir,
    summarise: async (window) => {
      // One profile per thread (the loader's hooks run on one of their own): the main thread's is the largest.
      const files = (await readdir(dir)).filter((f) => f.endsWith('.cpuprofile'))
      const sizes = await Promise.all(files.map(async (f) => (await stat(path.join(dir, f))).size))
      const file = files[sizes.indexOf(Math.max(...sizes))]
      if (!file) throw new Error(`no .cpuprofile was written in ${dir}`)
      return { file: path.join(dir, file), ...(await summariseFile(path.join(dir, file), 10, window)) }
    }
  }
}

/**
 * The most entries one Node thread can hash per second of CPU with the tree's own `entryHash`
 * (RFC 8785 canonical JSON, then SHA-256), on a real entry: the ceiling of any verify that
 * recomputes every hash in one thread, before a single row is read. Per CPU second rather than
 * per wall second, so that other work on the machine does not lower it.
 */
export function hashCeiling(
  entryHash: (content: Readonly<Record<string, unknown>>) => string,
  entry: Record<string, unknown>,
  seconds = 2
): { entriesPerCpuSecond: number; contentBytes: number } {
  let n = 0
  const cpu0 = process.cpuUsage()
  const until = performance.now() + seconds * 1000
  while (performance.now() < until) {
    for (let i = 0; i < 100; i += 1) entryHash({ ...entry, seq: n + i })
    n += 100
  }
  const cpu = process.cpuUsage(cpu0)
  return { entriesPerCpuSecond: n / ((cpu.user + cpu.system) / 1e6), contentBytes: Buffer.byteLength(JSON.stringify(entry)) }
}
