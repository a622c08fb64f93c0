/**
 * The approval page, mounted at `/approvals`. A link to it carries no authority: the
 * viewer signs in at the IdP, the policy in force says whether they may decide, and a
 * decision is a same-origin POST carrying the session's CSRF token.
 *
 *   GET  /approvals/:id   the request in full; the buttons if the viewer may decide
 *   POST /approvals/:id   verdict=approve|deny, csrf, comment?
 */
import { type Context, Hono } from 'hono'
import { bodyLimit } from 'hono/body-limit'
import { z } from 'zod'
import type { AppEnv } from '../../app-env.ts'
import { ERROR_STATUS, GatehouseError } from '../../errors.ts'
import {
  type ApproverSession,
  csrfTokenMatches,
  readApproverSession,
} from '../../identity/approver-cookie.ts'
import { loginPath } from '../../identity/approver-login.ts'
import { assertSameOriginPost } from '../../identity/same-origin.ts'
import type { Gateway } from '../../pipeline/gateway.ts'
import { approverFromIdentity, loadCurrentPolicy } from '../approver.ts'
import { decideApproval, readApproval } from '../decide.ts'
import { decisionRefusal, REFUSAL_MESSAGES } from '../decision-rules.ts'
import type { ApprovalRecord, Approver } from '../types.ts'
import { ApprovalView, MAX_COMMENT_CHARS } from './approval-view.tsx'
import { htmlPage, pageErrorHandler, pageSecurityHeaders } from './html-response.ts'
import { MessagePage } from './message-page.tsx'

/** A decision form is a few hundred bytes; anything far larger is not one. */
const MAX_FORM_BYTES = 16 * 1024

const ApprovalId = z.string().regex(/^[0-9a-f]{64}$/)

const DecisionForm = z.object({
  verdict: z.enum(['approve', 'deny']),
  comment: z
    .string()
    .max(MAX_COMMENT_CHARS)
    .optional()
    .transform((value) => value?.trim() || undefined),
})

export const approvalPageRoutes = new Hono<AppEnv>()

approvalPageRoutes.use(pageSecurityHeaders)
approvalPageRoutes.onError(pageErrorHandler)

approvalPageRoutes.get('/:id', async (c) => {
  const gateway = c.get('gateway')
  const id = approvalId(c)
  const session = await readApproverSession(c, gateway.config.credentialsKey, gateway.now())
  if (!session) {
    const intent = c.req.query('intent')
    const back = `/approvals/${id}${intent === 'approve' || intent === 'deny' ? `?intent=${intent}` : ''}`
    return c.redirect(loginPath(back), 303)
  }
  const record = await readApproval(gateway, id)
  if (!record) throw notFound(id)
  const approver = await approverFor(gateway, session)
  if (!mayView(record, approver)) return notAnApproverPage(c, session)
  const intent = c.req.query('intent')
  return htmlPage(
    c,
    ApprovalView({
      record,
      viewer: session,
      refusal: decisionRefusal(record, approver, gateway.now()),
      intent: intent === 'approve' || intent === 'deny' ? intent : undefined,
    })
  )
})

approvalPageRoutes.post(
  '/:id',
  bodyLimit({
    maxSize: MAX_FORM_BYTES,
    onError: () => {
      throw new GatehouseError('request.too_large', 'A decision form is never this large.')
    },
  }),
  async (c) => {
    const gateway = c.get('gateway')
    assertSameOriginPost(c.req.raw, gateway.publicUrl)
    const id = approvalId(c)
    const session = await readApproverSession(c, gateway.config.credentialsKey, gateway.now())
    if (!session) {
      return htmlPage(
        c,
        MessagePage({
          title: 'Sign in to decide',
          message: 'Your sign-in has expired or is missing. Sign in again and decide on the page.',
          code: 'auth.session_required',
          link: { href: loginPath(`/approvals/${id}`), label: 'Sign in' },
        }),
        ERROR_STATUS['auth.session_required']
      )
    }
    const body = await c.req.parseBody()
    // The token is checked before anything else in the form: a forged form learns nothing.
    if (!csrfTokenMatches(typeof body.csrf === 'string' ? body.csrf : '', session)) {
      throw new GatehouseError(
        'auth.csrf_failed',
        'This form has expired or was not sent from this page. Reload the approval page and decide again.'
      )
    }
    const form = DecisionForm.safeParse(body)
    if (!form.success) {
      throw new GatehouseError(
        'request.invalid',
        `Choose Approve or Deny; a comment has at most ${MAX_COMMENT_CHARS} characters.`,
        { detail: form.error.message }
      )
    }
    const approver = await approverFor(gateway, session)
    const { verdict, comment } = form.data
    const result = await decideApproval(gateway, id, approver, verdict, 'web', comment)
    if (!result.record) throw notFound(id)
    const record = result.record
    if (!mayView(record, approver)) return notAnApproverPage(c, session)
    return htmlPage(
      c,
      ApprovalView({
        record,
        viewer: session,
        refusal: decisionRefusal(record, approver, gateway.now()),
        outcome: result.ok
          ? { ok: true }
          : { ok: false, code: result.code, message: result.message },
      }),
      result.ok ? 200 : ERROR_STATUS[result.code]
    )
  }
)

function approvalId(c: Context<AppEnv>): string {
  const id = ApprovalId.safeParse(c.req.param('id'))
  if (!id.success) throw notFound(c.req.param('id') ?? '')
  return id.data
}

/** The viewer as an approver under the policy in force now, not when they signed in. */
async function approverFor(gateway: Gateway, session: ApproverSession): Promise<Approver> {
  const policy = await loadCurrentPolicy(gateway)
  return approverFromIdentity(
    {
      subject: session.sub,
      ...(session.email ? { email: session.email } : {}),
      groups: session.groups,
    },
    policy,
    `oidc:${session.iss} sign-in at ${new Date(session.iat * 1000).toISOString()}`
  )
}

/**
 * The command may hold data only its approvers should see, so others get no more than the
 * approvals API would give them. Asked as "could they decide it if it were still open",
 * with the decision rules themselves: an approver, or the requester (refused as such).
 */
function mayView(record: ApprovalRecord, approver: Approver): boolean {
  const open: ApprovalRecord = { ...record, state: 'pending', expiresAt: Number.POSITIVE_INFINITY }
  return decisionRefusal(open, approver, 0) !== 'approval.not_an_approver'
}

function notAnApproverPage(c: Context<AppEnv>, session: ApproverSession): Promise<Response> {
  return htmlPage(
    c,
    MessagePage({
      title: 'Not one of the approvers',
      message: `${REFUSAL_MESSAGES['approval.not_an_approver']} Only its approvers and its requester can see it.`,
      code: 'approval.not_an_approver',
      viewer: session,
    }),
    ERROR_STATUS['approval.not_an_approver']
  )
}

function notFound(id: string): GatehouseError {
  return new GatehouseError('approval.not_found', 'There is no such approval request.', {
    detail: `approval ${id.slice(0, 80)}`,
  })
}
