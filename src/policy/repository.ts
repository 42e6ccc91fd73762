import canonicalize from 'canonicalize'
import { createHash } from 'node:crypto'
import type { Queryable } from '../db/database.js'
import type { PolicyDocument } from './document.js'

export class PolicyTamperedError extends Error {
  override readonly name = 'PolicyTamperedError'
}

export function documentHash(document: PolicyDocument): string {
  return createHash('sha256')
    .update(canonicalize(document) ?? '', 'utf8')
    .digest('hex')
}

/**
 * Records each published version once. A stored version whose text differs from the code's is
 * an edit of a published notice, which must never happen: start-up stops instead.
 * @throws PolicyTamperedError naming the version.
 */
export async function recordPolicyVersions(db: Queryable, versions: readonly PolicyDocument[], now: Date): Promise<void> {
  for (const document of versions) {
    const hash = documentHash(document)
    await db
      .insertInto('policy_versions')
      .values({
        version: document.version,
        effective_from: document.effectiveFrom,
        document: JSON.stringify(document),
        document_hash: hash,
        recorded_at: now
      })
      .onConflict((oc) => oc.column('version').doNothing())
      .execute()
    const stored = await db.selectFrom('policy_versions').select('document_hash').where('version', '=', document.version).executeTakeFirstOrThrow()
    if (stored.document_hash !== hash) {
      throw new PolicyTamperedError(`policy version ${document.version} differs from the one already published`)
    }
  }
}
