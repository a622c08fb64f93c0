// Values the global setups hand to tests through vitest's provide/inject.
declare module 'vitest' {
  export interface ProvidedContext {
    originPort: number
    deadPort: number
    oidcIssuer: string
    oidcPrivateJwk: string
  }
}

export {}
