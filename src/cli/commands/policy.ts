import { lintPolicy, type PolicyWarning } from '../../policy/lint.js'
import { policyInForce, POLICY_VERSIONS } from '../../policy/registry.js'
import type { ServiceApi } from '../service-api.js'
import { printJson } from '../terminal.js'

interface PolicyView {
  readonly version: string
  readonly effectiveFrom: string
  readonly clauses?: readonly unknown[]
  readonly purposes?: readonly unknown[]
  readonly dataItems?: readonly unknown[]
  /** Absent from services older than the policy lint. */
  readonly warnings?: readonly PolicyWarning[]
  readonly versions?: readonly { version: string; effectiveFrom: string }[]
}

/** The policy in force now, as GET /v1/policy shows it, from the policy this build carries. */
function localPolicy(now: Date): PolicyView {
  const policy = policyInForce(now)
  return { ...policy, warnings: lintPolicy(policy), versions: POLICY_VERSIONS.map((v) => ({ version: v.version, effectiveFrom: v.effectiveFrom })) }
}

/**
 * Prints the policy in force and what it fails to state under APPI (its warnings). With --url
 * it is the running service's; without, the one this build carries (no database needed).
 */
export async function policyCommand(options: { json: boolean; lang: 'ja' | 'en' }, service: ServiceApi | undefined): Promise<void> {
  const policy = service ? await service.json<PolicyView>('GET', 'v1/policy') : localPolicy(new Date())
  if (options.json) return printJson(policy)
  const lines = [
    `policy ${policy.version}, in force since ${policy.effectiveFrom}${service ? ` (the service at ${service.origin})` : ' (this build)'}`,
    `${policy.clauses?.length ?? 0} clauses, ${policy.purposes?.length ?? 0} purposes, ${policy.dataItems?.length ?? 0} data items`
  ]
  if (policy.versions) lines.push(`published versions: ${policy.versions.map((v) => `${v.version} (from ${v.effectiveFrom})`).join(', ')}`)
  if (policy.warnings === undefined) {
    lines.push('warnings: this service does not report them')
  } else if (policy.warnings.length === 0) {
    lines.push('warnings: none')
  } else {
    lines.push(`warnings (${policy.warnings.length}): what the notice fails to state`)
    for (const w of policy.warnings) lines.push(`  ${w.code}  ${w.article}, clause ${w.clause}`, `    ${w[options.lang]}`)
  }
  process.stdout.write(`${lines.join('\n')}\n`)
}
