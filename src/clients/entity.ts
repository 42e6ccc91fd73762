import type { Queryable } from '../db/database.js'
import { findEntity } from '../entities/repository.js'
import { DomainError } from '../errors.js'
import { FEDERATION, PROVIDER_KINDS } from '../policy/parties.js'

/** A client records as its provider, so it must belong to one: the federation or an active member co-op. */
export class EntityNotProviderError extends DomainError {
  constructor() {
    super('validation_failed', 400, 'Bad Request', 'entityId must name the federation or an active member co-op (GET /v1/entities)', {
      errors: [{ path: 'body/entityId', message: 'must name the federation or an active member co-op' }]
    })
  }
}

/**
 * The provider a new client belongs to; the federation when none is named.
 * @throws EntityNotProviderError for JCCU (a joint user that provides nothing here), an unknown
 *   or a deactivated entity.
 */
export async function clientEntityId(db: Queryable, entityId: string | undefined): Promise<string> {
  if (entityId === undefined) return FEDERATION.id
  const entity = await findEntity(db, entityId)
  if (entity === undefined || !entity.active || !PROVIDER_KINDS.includes(entity.kind)) throw new EntityNotProviderError()
  return entity.id
}
