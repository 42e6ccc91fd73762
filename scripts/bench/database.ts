import { randomBytes } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import pg from 'pg'

/**
 * Where the service and the database baselines keep their data for one bench run: a fresh
 * PostgreSQL database (dropped at the end), or fresh PGlite directories under a temporary folder.
 */
export interface BenchDatabase {
  readonly kind: 'postgres' | 'pglite'
  /** The service's DATABASE_URL (postgres) or DATA_DIR (pglite). */
  readonly serviceEnv: Readonly<Record<string, string>>
  /** PostgreSQL only: the bench database's URL, for the baselines, the fill and the stats. */
  readonly url?: string
  /** PGlite only: the service's data directory, opened by the fill while the service is stopped. */
  readonly dataDir?: string
  /** PGlite only: a directory of its own for a baseline. */
  scratchDir(name: string): string
  readonly name: string
  drop(): Promise<void>
}

function withDatabase(url: string, database: string): string {
  const u = new URL(url)
  u.pathname = `/${database}`
  return u.toString()
}

export async function createBenchDatabase(options: { pglite: boolean; adminUrl: string; keep: boolean }): Promise<BenchDatabase> {
  const name = `bench_${randomBytes(4).toString('hex')}`
  if (options.pglite) {
    const root = await mkdtemp(path.join(tmpdir(), `${name}-`))
    const dataDir = path.join(root, 'service')
    return {
      kind: 'pglite',
      name: root,
      dataDir,
      serviceEnv: { DATA_DIR: dataDir },
      scratchDir: (dir) => path.join(root, dir),
      drop: async () => {
        if (!options.keep) await rm(root, { recursive: true, force: true })
      }
    }
  }
  const admin = new pg.Client({ connectionString: options.adminUrl })
  await admin.connect()
  try {
    await admin.query(`CREATE DATABASE ${name}`)
  } finally {
    await admin.end()
  }
  const url = withDatabase(options.adminUrl, name)
  return {
    kind: 'postgres',
    name,
    url,
    serviceEnv: { DATABASE_URL: url },
    scratchDir: () => {
      throw new Error('scratch directories are for PGlite')
    },
    drop: async () => {
      if (options.keep) return
      const client = new pg.Client({ connectionString: options.adminUrl })
      await client.connect()
      try {
        await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)
      } finally {
        await client.end()
      }
    }
  }
}

/** The PostgreSQL settings that decide commit and COPY speed, as the server reports them (SHOW). */
export const SETTINGS = [
  'server_version',
  'fsync',
  'synchronous_commit',
  'wal_sync_method',
  'full_page_writes',
  'commit_delay',
  'commit_siblings',
  'wal_level',
  'wal_buffers',
  'wal_writer_delay',
  'max_wal_size',
  'checkpoint_timeout',
  'shared_buffers',
  'effective_cache_size',
  'work_mem',
  'maintenance_work_mem',
  'max_connections',
  'data_directory'
] as const

export async function showSettings(url: string): Promise<Record<string, string>> {
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  try {
    const settings: Record<string, string> = {}
    for (const name of SETTINGS) {
      const { rows } = await client.query<Record<string, string>>(`SHOW ${name}`)
      settings[name] = Object.values(rows[0] ?? {})[0] ?? ''
    }
    return settings
  } finally {
    await client.end()
  }
}

/** Cluster-wide WAL flushes and this database's commits; their ratio is commits per fsync. */
export interface WalCounters {
  readonly walSync: number
  readonly walWrite: number
  readonly commits: number
}

export async function walCounters(client: pg.Client): Promise<WalCounters> {
  // The statistics collector updates pg_stat_database lazily; a fresh snapshot avoids reading a cached one.
  await client.query('SELECT pg_stat_clear_snapshot()')
  const { rows } = await client.query<{ wal_sync: string; wal_write: string; commits: string }>(
    `SELECT w.wal_sync, w.wal_write, d.xact_commit AS commits
       FROM pg_stat_wal w, pg_stat_database d WHERE d.datname = current_database()`
  )
  const row = rows[0]!
  return { walSync: Number(row.wal_sync), walWrite: Number(row.wal_write), commits: Number(row.commits) }
}

/** The bench database's backends other than `client`'s own, for their CPU time. */
export async function backendPids(client: pg.Client): Promise<number[]> {
  const { rows } = await client.query<{ pid: number }>('SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()')
  return rows.map((r) => r.pid)
}
