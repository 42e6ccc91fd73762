import { stringify } from 'csv-stringify/sync'
import type { ProvisionRecord, RecordLanguage } from './provision-records.js'

/** Excel in Japan reads UTF-8 only when the file starts with a byte-order mark. */
const BOM = '\uFEFF'

/** "2026-11-25T18:00:00.123+09:00" as a member reads it: "2026-11-25 18:00:00". */
const readable = (japanTime: string) => japanTime.slice(0, 19).replace('T', ' ')
const dateOnly = (japanTime: string) => japanTime.slice(0, 10)

const LIST_SEPARATOR: Record<RecordLanguage, string> = { ja: '、', en: '; ' }

/**
 * Headers name each column in both languages, so a member and a regulator read the same file;
 * the values follow the language asked for.
 */
function columns(language: RecordLanguage): readonly [string, (r: ProvisionRecord) => string][] {
  return [
    ['組合員番号 (member id)', (r) => r.memberId],
    ['提供日時(日本時間) (provided at, Japan time)', (r) => readable(r.providedAt)],
    ['記録時刻(UTC) (recorded at, UTC)', (r) => r.recordedAt],
    ['提供者 (provider)', (r) => r.provider.name[language]],
    ['提供者ID (provider id)', (r) => r.provider.id],
    ['提供先 (recipient)', (r) => r.recipient?.name ?? r.contractor?.name ?? ''],
    ['提供先住所 (recipient address)', (r) => r.recipient?.address ?? r.contractor?.address ?? ''],
    ['提供先代表者 (recipient representative)', (r) => r.recipient?.representative ?? ''],
    ['提供先の国 (recipient country)', (r) => r.recipient?.country ?? r.contractor?.country ?? ''],
    ['提供先区分 (recipient category)', (r) => r.recipient?.categoryLabel ?? ''],
    ['利用目的 (purpose)', (r) => r.purposeLabel],
    ['商品・サービス (service category)', (r) => r.serviceCategoryLabel ?? ''],
    ['提供項目 (items)', (r) => r.dataItemLabels.join(LIST_SEPARATOR[language])],
    ['提供方法 (method)', (r) => r.methodLabel ?? ''],
    ['同意ID (consent id)', (r) => r.consent?.id ?? ''],
    ['同意取得日時(日本時間) (consent obtained at, Japan time)', (r) => (r.consent ? readable(r.consent.obtainedAt) : '')],
    ['同意取得方法 (consent method)', (r) => r.consent?.methodLabel ?? ''],
    ['同意の証跡 (consent evidence)', (r) => r.consent?.evidenceRef ?? ''],
    ['法令等の根拠 (statutory ground)', (r) => (r.exception ? `${r.exception.basisLabel} (${r.exception.law}): ${r.exception.reference}` : '')],
    ['記録の根拠 (record basis)', (r) => r.recordBasis],
    ['保存期限(日本時間、この日の終わりまで) (retain until, end of this day in Japan time)', (r) => dateOnly(r.retainUntil)],
    ['通知の版 (policy version)', (r) => r.policyVersion],
    ['記録ID (entry id)', (r) => r.entryId]
  ]
}

export function provisionRecordsCsv(records: ProvisionRecord[], language: RecordLanguage = 'ja'): string {
  const cols = columns(language)
  return (
    BOM +
    stringify([cols.map(([header]) => header), ...records.map((record) => cols.map(([, value]) => value(record)))], {
      record_delimiter: '\r\n',
      // A recipient name like =HYPERLINK(…) must stay text when a member opens the file in Excel.
      escape_formulas: true
    })
  )
}
