import { createHash, randomBytes, timingSafeEqual } from 'node:crypto'

/** The characters a bearer token may have (RFC 6750 b64token). */
export const TOKEN_CHARACTERS = 'A-Za-z0-9._~+/=-'

/** 32 random bytes, so a token cannot be guessed; the prefix makes a leaked one easy to grep for. */
export function generateToken(): string {
  return `shz_${randomBytes(32).toString('base64url')}`
}

/** Tokens are high-entropy, so one fast hash is enough; only the hash is ever stored. */
export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex')
}

export function sameHash(a: string, b: string): boolean {
  const left = Buffer.from(a, 'hex')
  const right = Buffer.from(b, 'hex')
  return left.length === right.length && timingSafeEqual(left, right)
}
