import { mkdir, open, readFile, unlink, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { StartupError } from './startup-errors.js'

/** A start-up error like the others: server.ts prints its message as a sentence, without the class name. */
export class DataDirLockedError extends StartupError {
  override readonly name = 'DataDirLockedError'
  constructor(message: string) {
    super('data_dir_locked', message)
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/**
 * The embedded database belongs to one process: a second one on the same files would write a
 * divergent copy and lose acknowledged records. The lock file names the owner's pid; a lock
 * whose owner has died is taken over.
 * @returns a function that releases the lock.
 * @throws DataDirLockedError when a live process holds it.
 */
export async function lockDataDir(dataDir: string): Promise<() => Promise<void>> {
  await mkdir(dataDir, { recursive: true })
  const lockFile = path.join(dataDir, 'service.lock')
  try {
    const handle = await open(lockFile, 'wx')
    await handle.writeFile(String(process.pid))
    await handle.close()
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
    const owner = Number((await readFile(lockFile, 'utf8')).trim())
    if (Number.isInteger(owner) && owner !== process.pid && alive(owner)) {
      throw new DataDirLockedError(
        `the embedded database in ${dataDir} is in use by process ${owner}; run one process per DATA_DIR, or use PostgreSQL (DATABASE_URL) for replicas`
      )
    }
    await writeFile(lockFile, String(process.pid))
  }
  return async () => {
    await unlink(lockFile).catch(() => {})
  }
}
