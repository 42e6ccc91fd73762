import type { PolicyDocument } from './document.js'
import { noticeV1 } from './notice-v1.js'
import { noticeV2 } from './notice-v2.js'

/** Every published version, oldest first. Append only: a published document is never edited. */
export const POLICY_VERSIONS: readonly PolicyDocument[] = Object.freeze([noticeV1, noticeV2])

/** The version in force at `now`: the newest whose effectiveFrom has passed, else the first. */
export function policyInForce(now: Date, versions: readonly PolicyDocument[] = POLICY_VERSIONS): PolicyDocument {
  let current = versions[0]
  if (current === undefined) throw new Error('no policy version is published')
  for (const version of versions) {
    if (new Date(version.effectiveFrom) <= now) current = version
  }
  return current
}

/** The published version named `version`; undefined for a name no version has. */
export function policyVersion(version: string, versions: readonly PolicyDocument[] = POLICY_VERSIONS): PolicyDocument | undefined {
  return versions.find((v) => v.version === version)
}
