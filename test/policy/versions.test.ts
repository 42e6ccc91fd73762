/**
 * A published version is never edited: the service refuses to start when a stored version
 * differs from the code's. These hashes pin each published document, so an edit fails here,
 * in review, before it can stop a deployment.
 */
import t from 'tap'
import { POLICY_VERSIONS } from '../../src/policy/registry.js'
import { documentHash } from '../../src/policy/repository.js'

const PUBLISHED: Record<string, string> = {
  '2026-11-01.1': 'cc2b036aeb53d35c44833d00bd810293d08931e4fb33a8afd31d796fa6eec65a',
  '2027-04-01.1': '19b1355224cc822e77517df76c9e064f38dfcb9a698858f1a069446144983c80'
}

t.test('every published version hashes as it did when it was published', async (t) => {
  t.strictSame(
    POLICY_VERSIONS.map((v) => v.version),
    Object.keys(PUBLISHED),
    'the published versions, oldest first; a new one is appended with its hash'
  )
  for (const version of POLICY_VERSIONS) t.equal(documentHash(version), PUBLISHED[version.version], `${version.version} is unchanged`)
})

t.test('versions come into force one after another', async (t) => {
  for (let i = 1; i < POLICY_VERSIONS.length; i += 1) {
    t.ok(new Date(POLICY_VERSIONS[i]!.effectiveFrom) > new Date(POLICY_VERSIONS[i - 1]!.effectiveFrom), `${POLICY_VERSIONS[i]!.version} after its predecessor`)
  }
})
