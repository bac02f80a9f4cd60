/**
 * A dispatch step: answers the request, or returns undefined to pass it to the next step. The dispatch order of
 * SPEC §2 is a list of steps tried in turn by one handler, which saves a Hono `next()` hop per step.
 */
import type { Context, Handler } from 'hono';
import type { AppEnv } from '../env';

export type Step = (c: Context<AppEnv>) => Response | undefined | Promise<Response | undefined>;

export function firstAnswer(...steps: [...Step[], (c: Context<AppEnv>) => Response | Promise<Response>]): Handler<AppEnv> {
  return async (c) => {
    for (const step of steps) {
      const result = step(c);
      // A step that passes synchronously costs no microtask.
      const answer = result instanceof Promise ? await result : result;
      if (answer) return answer;
    }
    throw new Error('the last dispatch step must answer');
  };
}
