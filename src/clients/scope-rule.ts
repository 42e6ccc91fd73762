import type { Role } from '../policy/vocabulary.js'

/**
 * Channels and purposes limit a system client only: an admin or ops client given either is
 * refused, by POST /v1/clients and by `shizenha clients create` alike.
 * @returns the scope fields given to a client whose role they do not apply to (empty when fine).
 */
export function scopeFieldsMisplaced(client: { readonly role: Role; readonly channels?: unknown; readonly purposes?: unknown }): ('channels' | 'purposes')[] {
  if (client.role === 'system') return []
  return (['channels', 'purposes'] as const).filter((field) => client[field] !== undefined)
}
