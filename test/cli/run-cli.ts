import { execFile } from 'node:child_process'
import path from 'node:path'

export const ROOT = new URL('../..', import.meta.url).pathname
/** The bin as package.json names it, run as `npx shizenha` runs it. */
const BIN = path.join(ROOT, 'src/cli/shizenha.mjs')

export interface Run {
  readonly code: number
  readonly stdout: string
  readonly stderr: string
}

/** The settings the CLI reads; a run sees only those its test gives. */
const CLI_ENV = [
  'DATABASE_URL',
  'DATABASE_MIGRATION_URL',
  'DATABASE_READ_URL',
  'DATA_DIR',
  'DATABASE_SCHEMA',
  'SHIZENHA_URL',
  'SHIZENHA_TOKEN',
  'CHECKPOINT_SIGNING_KEY',
  'CHECKPOINT_SIGNING_KEY_FILE'
]

/** Runs the `shizenha` bin in a child process, as an operator would. */
export function shizenha(args: string[], env: Record<string, string>): Promise<Run> {
  const base = { ...process.env }
  for (const name of CLI_ENV) delete base[name]
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [BIN, ...args],
      { cwd: ROOT, env: { ...base, ...env }, timeout: 180_000, maxBuffer: 64 * 1024 * 1024 },
      (err, stdout, stderr) => {
        resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr })
      }
    )
  })
}
