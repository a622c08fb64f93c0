/**
 * Security headers of console pages: those of the approval pages, with the console's
 * stylesheet allowed beside the approval pages' one (the error and refusal pages are theirs).
 */

import { securityHeaders } from '../approvals/page/html-response.ts'
import { PAGE_CSS } from '../approvals/page/layout.tsx'
import { CONSOLE_CSS } from './pages/layout.tsx'

export const consoleSecurityHeaders = securityHeaders([CONSOLE_CSS, PAGE_CSS])
