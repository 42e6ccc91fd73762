/**
 * A published version is never edited: the service refuses to start when a stored version
 * differs from the code's. These hashes pin each published document, so an edit fails here,
 * in review, before it can stop a deployment.
 */
import t from 'tap'
import { POLICY_VERSIONS, policyInForce } from '../../src/policy/registry.js'
import { documentHash } from '../../src/policy/repository.js'

const PUBLISHED: Record<string, string> = {
  '2026-11-01.1': 'cc2b036aeb53d35c44833d00bd810293d08931e4fb33a8afd31d796fa6eec65a',
  '2027-04-01.1': '19b1355224cc822e77517df76c9e064f38dfcb9a698858f1a069446144983c80',
  '2026-12-07.1': '0e51fe6f1ff6d788d1187d15543cd6b587af54ffecb41873f764159eefb471f7',
  '2027-04-01.2': '7b9ff1c0cccb1e64dfb634cc70b98688ea1c98a46ee1e8351f67ee777f01e428'
}

t.test('every published version hashes as it did when it was published', async (t) => {
  t.strictSame(
    POLICY_VERSIONS.map((v) => v.version),
    Object.keys(PUBLISHED),
    'the published versions, oldest first; a new one is appended with its hash'
  )
  for (const version of POLICY_VERSIONS) t.equal(documentHash(version), PUBLISHED[version.version], `${version.version} is unchanged`)
})

t.test('each version is in force from its effectiveFrom until a later one is, and a later-published one supersedes one of the same moment', async (t) => {
  const moments = [...new Set(POLICY_VERSIONS.map((v) => v.effectiveFrom))].sort((a, b) => new Date(a).getTime() - new Date(b).getTime())
  for (const moment of moments) {
    const at = new Date(moment)
    const published = POLICY_VERSIONS.filter((v) => new Date(v.effectiveFrom).getTime() === at.getTime())
    const last = published[published.length - 1]!
    t.equal(policyInForce(at).version, last.version, `at ${moment}: the last published of that moment`)
    t.equal(policyInForce(new Date(at.getTime() + 1)).version, last.version, 'and just after')
  }
  t.equal(policyInForce(new Date('2026-12-06T23:59:59+09:00')).version, '2026-11-01.1', 'version 1 until version 3 came into force')
  t.equal(policyInForce(new Date('2026-12-07T00:00:00+09:00')).version, '2026-12-07.1', 'version 3 from its day')
  t.equal(policyInForce(new Date('2027-04-01T00:00:00+09:00')).version, '2027-04-01.2', 'version 2 never applies: version 4 supersedes it')
})
