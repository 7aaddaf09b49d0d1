/** A request's outcome: what the provider's events said, or what its response tells. */
import { record, type Ctx } from './context.js'

export type Outcome = { outcome: string; error?: string; error_description?: string }

export function rejected(err: Record<string, unknown> | undefined): Outcome {
  return {
    outcome: 'rejected',
    ...(typeof err?.error === 'string' && { error: err.error }),
    ...(typeof err?.error_description === 'string' && {
      error_description: err.error_description,
    }),
  }
}

/**
 * The outcome the response itself tells, when no provider event did: an error status (or a
 * thrown error) is a refusal with the error of its body; `success` names a 2xx answer.
 */
export function answered(ctx: Ctx, thrown: unknown, success: boolean): Outcome | undefined {
  if (thrown !== undefined) {
    const code = (thrown as { error?: unknown })?.error
    return { outcome: 'rejected', error: typeof code === 'string' ? code : 'server_error' }
  }
  const status = ctx.status
  if (typeof status === 'number' && status >= 400) {
    const body = record(ctx.body)
    return {
      outcome: 'rejected',
      error: typeof body.error === 'string' ? body.error : status >= 500 ? 'server_error' : 'error',
      ...(typeof body.error_description === 'string' && {
        error_description: body.error_description,
      }),
    }
  }
  return success ? { outcome: 'accepted' } : undefined
}

export function statusOf(err: unknown): number {
  const e = err as { statusCode?: unknown; status?: unknown }
  const status = typeof e?.statusCode === 'number' ? e.statusCode : e?.status
  return typeof status === 'number' && status >= 100 && status <= 599 ? status : 500
}
