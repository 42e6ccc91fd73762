import { stringify } from 'csv-stringify/sync'
import type { ProvisionRecord } from './provision-records.js'

/** Excel in Japan reads UTF-8 only when the file starts with a byte-order mark. */
const BOM = '\uFEFF'

const COLUMNS: readonly [string, (r: ProvisionRecord) => string][] = [
  ['提供日時 (provided at)', (r) => r.providedAt],
  ['提供先 (recipient)', (r) => r.recipient.name],
  ['提供先住所 (recipient address)', (r) => r.recipient.address],
  ['提供先代表者 (recipient representative)', (r) => r.recipient.representative],
  ['提供先区分 (recipient category)', (r) => r.recipient.category],
  ['利用目的 (purpose)', (r) => r.purpose],
  ['商品・サービス (service category)', (r) => r.serviceCategory],
  ['提供項目 (items)', (r) => r.dataItems.join(' ')],
  ['提供方法 (method)', (r) => r.method],
  ['同意ID (consent id)', (r) => r.consent?.id ?? ''],
  ['同意取得日時 (consent obtained at)', (r) => r.consent?.obtainedAt ?? ''],
  ['同意取得方法 (consent method)', (r) => r.consent?.method ?? ''],
  ['同意の証跡 (consent evidence)', (r) => r.consent?.evidenceRef ?? ''],
  ['保存期限 (retain until)', (r) => r.retainUntil],
  ['記録ID (entry id)', (r) => r.entryId]
]

export function provisionRecordsCsv(records: ProvisionRecord[]): string {
  return (
    BOM +
    stringify([COLUMNS.map(([header]) => header), ...records.map((record) => COLUMNS.map(([, value]) => value(record)))], {
      record_delimiter: '\r\n',
      // A recipient name like =HYPERLINK(…) must stay text when a member opens the file in Excel.
      escape_formulas: true
    })
  )
}
