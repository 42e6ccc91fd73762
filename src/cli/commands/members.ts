import type { Writable } from 'node:stream'
import { provisionRecordsCsv } from '../../ledger/provision-csv.js'
import { listProvisionRecords, type RecordLanguage, type RecordSelection } from '../../ledger/provision-records.js'
import { withDatabase } from '../database-access.js'
import { failure } from '../exit.js'
import type { ServiceApi } from '../service-api.js'
import { toOutput, writeChunks } from '../terminal.js'

export interface ProvisionRecordsOptions {
  readonly format: 'json' | 'csv'
  /** Undefined: the service's default (Japanese). */
  readonly lang?: RecordLanguage | undefined
  readonly include?: RecordSelection | undefined
  readonly output?: string | undefined
}

/**
 * A member's records of third-party provision (APPI Art. 29, disclosed under Art. 33(5)), as
 * GET /v1/members/{memberId}/provision-records gives them: JSON, or CSV with a byte-order mark
 * for Excel. They hold personal data: a file is written with mode 0600.
 */
export async function provisionRecordsCommand(memberId: string, options: ProvisionRecordsOptions, service: ServiceApi | undefined): Promise<void> {
  await toOutput(options.output, async (out: Writable) => {
    if (service) {
      const response = await service.send('GET', `v1/members/${encodeURIComponent(memberId)}/provision-records`, {
        query: { format: options.format, lang: options.lang, include: options.include }
      })
      if (!response.body) throw failure('the service sent an empty answer')
      await writeChunks(out, response.body as AsyncIterable<Uint8Array>, () => {})
      return
    }
    const language = options.lang ?? 'ja'
    const records = await withDatabase((database) => listProvisionRecords(database.db, memberId, { language, include: options.include ?? 'third_party' }))
    const text = options.format === 'csv' ? provisionRecordsCsv(records, language) : `${JSON.stringify({ memberId, records }, null, 2)}\n`
    await writeChunks(out, [text], () => {})
  })
}
