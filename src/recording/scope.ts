import type { Client } from '../clients/repository.js'
import type { DecisionRequest } from '../policy/engine.js'

export type DecisionAction = 'check' | 'transfer'

/**
 * Whether the calling client may ask for this decision. Admins may do anything; ops may check
 * anything but record only statutory exceptions; a system client stays within the channels and
 * purposes it was registered with (none given: all of them), except `statutory_exception`, which
 * always allows and may carry sensitive items, so a system client needs it named in `channels`.
 * Whoever is not an admin acts only as the provider its client belongs to.
 */

/** The legal person a request provides as: the one it names (an admin's choice), else the client's own. */
export function providerOf(client: Client, request: { readonly providerId?: string | undefined }): string {
  return request.providerId ?? client.entityId
}

export function withinClientScope(client: Client, action: DecisionAction, request: DecisionRequest): boolean {
  // A client speaks for its own legal person; only an admin may act for another provider.
  if (client.role !== 'admin' && request.providerId !== undefined && request.providerId.toLowerCase() !== client.entityId.toLowerCase()) return false
  switch (client.role) {
    case 'admin':
      return true
    case 'ops':
      return action === 'check' || request.channel === 'statutory_exception'
    case 'system':
      return (
        (request.channel === 'statutory_exception'
          ? client.channels?.includes('statutory_exception') === true
          : client.channels === null || client.channels.includes(request.channel)) &&
        (client.purposes === null || client.purposes.includes(request.purpose))
      )
  }
}
