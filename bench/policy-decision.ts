/**
 * Policy decision time: classify (canonicalise the path, build the command) and decide,
 * against a 100-rule policy, for a mix of requests that match early, late and not at all.
 * Runs in Node on the same V8 engine as workerd; each decision is timed on its own.
 */
import type { Caller, HttpCommand } from '../src/pipeline/types.ts'
import { compilePolicy } from '../src/policy/compile.ts'
import { decide } from '../src/policy/decide.ts'
import { PolicyDocument, type PolicyDocumentInput } from '../src/policy/document.ts'
import { principalsOf } from '../src/policy/principals.ts'
import { canonicalizePath } from '../src/protocols/http/canonical-path.ts'
import { timeEach } from './stats.ts'

const RULES = 100
const WARMUP = 20_000
const SAMPLES = 200_000

/** A realistic 100-rule policy: per-resource rules with globs, methods and caller conditions. */
export function hundredRulePolicy(): PolicyDocumentInput {
  const rules: NonNullable<PolicyDocumentInput['connections']>[string]['rules'] = []
  for (let i = 0; i < RULES - 2; i++) {
    const resource = `resource-${i}`
    rules.push(
      i % 3 === 0
        ? {
            name: `block-${resource}`,
            match: { methods: ['DELETE'], paths: [`/${resource}/**`] },
            action: 'block',
          }
        : i % 3 === 1
          ? {
              name: `approve-${resource}`,
              who: ['group:agents'],
              match: { methods: ['POST', 'PUT'], paths: [`/${resource}/*/actions/*`] },
              action: 'require_approval',
              approvers: ['group:leads'],
            }
          : {
              name: `read-${resource}`,
              match: { methods: ['GET', 'HEAD'], paths: [`/${resource}`, `/${resource}/*`] },
              action: 'allow',
            }
    )
  }
  rules.push({ name: 'admin-never', match: { paths: ['/admin/**'] }, action: 'block' })
  rules.push({ name: 'health', match: { methods: ['GET'], paths: ['/healthz'] }, action: 'allow' })
  return {
    version: 1,
    groups: {
      agents: { members: ['agent:bench-agent', 'idp:ci'] },
      leads: { members: ['idp:leads'] },
    },
    connections: { api: { grants: ['group:agents'], rules } },
  }
}

const REQUESTS: [method: string, path: string][] = [
  ['GET', '/resource-2/items'], // early match
  ['GET', '/resource-95/x'], // late match
  ['POST', '/resource-49/42/actions/refund'], // approval rule mid-list
  ['DELETE', '/resource-96/a/b/c'], // late block
  ['PATCH', '/orders/7'], // no rule matches: default
  ['GET', '/healthz'], // last rule
]

export type PolicyDecisionResult = {
  rules: number
  samples: number
  p50Micros: number
  p99Micros: number
  maxMicros: number
}

export function benchPolicyDecision(): PolicyDecisionResult {
  const policy = compilePolicy(PolicyDocument.parse(hundredRulePolicy()), 1, 'bench')
  const caller: Caller = {
    id: 'agent:bench-agent',
    name: 'bench-agent',
    via: 'agent_token',
    idpGroups: [],
    scope: ['*'],
  }
  let sink = 0
  const once = (index: number) => {
    const [method, rawPath] = REQUESTS[index % REQUESTS.length] as [string, string]
    const command: HttpCommand = {
      kind: 'http',
      method,
      path: canonicalizePath(rawPath).decoded,
      query: '',
      headers: {},
      body: null,
    }
    const decision = decide(policy, principalsOf(caller, policy), 'api', command)
    sink += decision.rule?.index ?? -1
  }
  const timing = timeEach(once, SAMPLES, WARMUP)
  // Read the sink, so the work being timed cannot be optimised away.
  if (sink === Number.MIN_SAFE_INTEGER) console.log(sink)
  return {
    rules: RULES,
    samples: SAMPLES,
    ...timing,
  }
}
