import { once } from 'node:events'
import { finished } from 'node:stream/promises'
import pg from 'pg'
import { from as copyFrom } from 'pg-copy-streams'

/** Streams COPY text-format lines into a table; `end` resolves once they are in (not yet committed). */
export interface CopySink {
  write(lines: string): Promise<void>
  end(): Promise<void>
}

/** The few things the COPY baseline and the fill need, on PostgreSQL or on a PGlite directory. */
export interface SqlConnection {
  query<R = Record<string, unknown>>(text: string, values?: unknown[]): Promise<R[]>
  copyIn(table: string, columns: string): CopySink
  close(): Promise<void>
}

// PGlite takes COPY input as one blob; a few MiB per statement keeps its memory flat.
const PGLITE_COPY_BYTES = 8 << 20

export async function connectSql(target: { url?: string | undefined; dataDir?: string | undefined }): Promise<SqlConnection> {
  if (target.url) {
    const client = new pg.Client({ connectionString: target.url })
    await client.connect()
    return {
      query: async <R>(text: string, values?: unknown[]) => (await client.query(text, values)).rows as R[],
      copyIn: (table, columns) => {
        const stream = client.query(copyFrom(`COPY ${table} (${columns}) FROM STDIN`))
        return {
          write: async (lines) => {
            if (!stream.write(lines)) await once(stream, 'drain')
          },
          end: async () => {
            stream.end()
            await finished(stream)
          }
        }
      },
      close: () => client.end()
    }
  }
  const { PGlite } = await import('@electric-sql/pglite')
  const db = await PGlite.create(target.dataDir)
  return {
    query: async (text, values) => (await db.query(text, values)).rows as never,
    copyIn: (table, columns) => {
      let buffered: string[] = []
      let size = 0
      const flush = async () => {
        if (buffered.length === 0) return
        const blob = new Blob(buffered)
        buffered = []
        size = 0
        await db.query(`COPY ${table} (${columns}) FROM '/dev/blob'`, [], { blob })
      }
      return {
        write: async (lines) => {
          buffered.push(lines)
          size += lines.length
          if (size >= PGLITE_COPY_BYTES) await flush()
        },
        end: flush
      }
    },
    close: () => db.close()
  }
}
