import { existsSync } from 'node:fs'
import type { Decision, DecisionRequest } from '../../clients/typescript/src/types.js'
import type { RetryHooks, RetryOptions } from '../../clients/typescript/src/retry.js'

/**
 * The TypeScript client lives in its own package (clients/typescript) with its own
 * dependencies. The root's typecheck must not need them, so the parts that import openapi-fetch
 * are loaded at run time, typed here by what these tests use; the package typechecks itself
 * (`npm run typecheck` there).
 */
export const CLIENT_DIR = new URL('../../clients/typescript/', import.meta.url)
export const INSTALL_HINT = "clients/typescript's dependencies are missing: run `npm install` at the repository root (the client is one of its workspaces)"

/** Whether a package resolves from the client's folder as Node would look for it: its own node_modules, then each parent's (a workspace's are hoisted to the root). */
function resolvesFromClient(name: string): boolean {
  for (let dir = CLIENT_DIR; ; dir = new URL('../', dir)) {
    if (existsSync(new URL(`node_modules/${name}/package.json`, dir))) return true
    if (dir.pathname === '/') return false
  }
}

export function clientInstalled(): boolean {
  return ['openapi-fetch', 'openapi-typescript'].every(resolvesFromClient)
}

export interface ClientUnderTest {
  check(request: DecisionRequest, options?: { signal?: AbortSignal }): Promise<Decision>
  transfer(request: DecisionRequest, options?: { idempotencyKey?: string; signal?: AbortSignal }): Promise<Decision>
  transferBatch(items: readonly DecisionRequest[], options?: { idempotencyKey?: string; signal?: AbortSignal }): Promise<Decision[]>
  api: {
    GET(path: string, init?: Record<string, unknown>): Promise<{ data?: any; error?: unknown; response: Response }>
  }
}

export interface ClientModule {
  createDataSharingClient: (
    options: {
      baseUrl: string
      token: string | (() => string | Promise<string>)
      language?: 'ja' | 'en'
      retry?: RetryOptions
      fetch?: (request: Request) => Promise<Response>
    } & RetryHooks
  ) => ClientUnderTest
  unwrap: <T>(result: { data?: T; error?: unknown; response: Response }) => T
}

export async function loadClient(): Promise<ClientModule> {
  return (await import(new URL('src/index.ts', CLIENT_DIR).href)) as ClientModule
}
