import type { PolicyDocument } from './document.js'
import { noticeV1 } from './notice-v1.js'
import { noticeV2 } from './notice-v2.js'
import { noticeV3, noticeV4 } from './notice-v3.js'

/** Every published version, in the order of publication. Append only: a published document is never edited. */
export const POLICY_VERSIONS: readonly PolicyDocument[] = Object.freeze([noticeV1, noticeV2, noticeV3, noticeV4])

/**
 * The version in force at `now`: of those whose effectiveFrom has passed, the one that comes into
 * force last; of two coming into force at once, the one published later, which supersedes the
 * other before it ever applied. Before every effectiveFrom, the first.
 */
export function policyInForce(now: Date, versions: readonly PolicyDocument[] = POLICY_VERSIONS): PolicyDocument {
  let current = versions[0]
  if (current === undefined) throw new Error('no policy version is published')
  let currentFrom = Number.NEGATIVE_INFINITY
  for (const version of versions) {
    const from = new Date(version.effectiveFrom).getTime()
    if (from <= now.getTime() && from >= currentFrom) {
      current = version
      currentFrom = from
    }
  }
  return current
}

/** The published version named `version`; undefined for a name no version has. */
export function policyVersion(version: string, versions: readonly PolicyDocument[] = POLICY_VERSIONS): PolicyDocument | undefined {
  return versions.find((v) => v.version === version)
}
