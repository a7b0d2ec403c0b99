/**
 * The single funnel every renderer request goes through, in Electron and in the browser: the name
 * must be in the contract, the request must match its schema, the paths it names must be allowed,
 * and only then does it reach the engine (or the host's own handler). What comes back is checked
 * against the contract too. Every refusal is logged in one line and never reaches the engine.
 */
import type { z } from 'zod';
import { invoke, invokeNames, pixels, type Invoke, type InvokeName, type PathCheck, type PixelRoute, type Res } from '../ipc/contract';
import { ApiError, fail, failFrom, ok, type Result } from '../ipc/result';
import { LibraryFolder } from '../ipc/schemas';
import type { EngineClient, PixelAnswer } from './engine-client';
import { issues, oneLine } from './issues';
import type { PathGuard } from './path-guard';

/** The contract's channels a host answers itself (where: 'host'). */
export const HOST_CHANNELS = ['engineStatus', 'pickFolder', 'pickFiles', 'pendingOpens', 'revealPath'] as const satisfies readonly InvokeName[];
export type HostChannel = (typeof HOST_CHANNELS)[number];

/** A handler for each host channel: a missing one is a compile error. */
export type HostHandlers = {
  [K in HostChannel]: (req: z.output<Invoke[K]['req']>) => Promise<Res<K>> | Res<K>;
};

/** What the dispatcher needs of the engine client. */
export type EngineLike = Pick<EngineClient, 'invoke' | 'pixels' | 'on'>;

/** A pixel route as the dispatcher reads it: how its request names files (see `pixels` in the contract). */
type PixelRouteDef = { req: z.ZodType; paths?: (req: unknown) => PathCheck[]; inFolder?: true };

export interface DispatcherOptions {
  engine: EngineLike;
  guard: PathGuard;
  host: HostHandlers;
  log: (line: string) => void;
}

export interface Dispatcher {
  invoke(name: string, raw: unknown): Promise<Result<unknown>>;
  /** Image bytes; throws ApiError (BAD_REQUEST, FORBIDDEN, or the engine's code). */
  pixels(route: string, raw: unknown): Promise<PixelAnswer>;
  /** Stops learning folders from engine events. */
  dispose(): void;
}

// The contract is the truth: a host channel list that drifts from it is a bug caught at start.
const contractHostChannels = invokeNames.filter((n) => invoke[n].where === 'host').sort();
if (contractHostChannels.join() !== [...HOST_CHANNELS].sort().join()) {
  throw new Error(`dispatch.ts HOST_CHANNELS (${HOST_CHANNELS.join(', ')}) differ from the contract's host channels (${contractHostChannels.join(', ')})`);
}

export function createDispatcher({ engine, guard, host, log }: DispatcherOptions): Dispatcher {
  const refuse = (what: string, code: string, message: string): Result<never> => {
    log(oneLine(`refused ${what}: ${code}: ${message}`));
    return fail(code, message);
  };

  const learn = (value: unknown) => {
    const f = LibraryFolder.safeParse(value);
    if (f.success) guard.learnFolder(f.data);
  };
  const stopLearning = engine.on((name, payload) => {
    if (name === 'library:changed') learn(payload);
  });

  async function invokeOne(name: string, raw: unknown): Promise<Result<unknown>> {
    if (!Object.hasOwn(invoke, name)) {
      const shown = JSON.stringify(name.slice(0, 80)); // as a quoted string: a name from a URL may hold anything
      return refuse(`invoke ${shown}`, 'BAD_REQUEST', `${shown} is not an sgai request; this page and sgai may be from different versions: reload the page`);
    }
    const key = name as InvokeName;
    const def = invoke[key] as Invoke[InvokeName];
    const parsed = def.req.safeParse(raw);
    if (!parsed.success) return refuse(`invoke ${name}`, 'BAD_REQUEST', `the request does not match the contract: ${issues(parsed.error)}`);
    const req = parsed.data;
    if ('paths' in def && def.paths) {
      try {
        await guard.check((def.paths as (r: unknown) => PathCheck[])(req));
      } catch (e) {
        const err = e instanceof ApiError ? e : new ApiError({ code: 'FORBIDDEN', message: String(e) });
        return refuse(`invoke ${name}`, err.code, err.message);
      }
    }
    let result: Result<unknown>;
    if (def.where === 'host') {
      try {
        const handler = host[key as HostChannel] as (r: unknown) => unknown;
        result = ok(await handler(req));
      } catch (e) {
        result = failFrom(e);
      }
    } else {
      result = await engine.invoke(def.channel, req);
    }
    if (!result.ok) return result;
    const checked = def.res.safeParse(result.value);
    if (!checked.success) {
      log(`unexpected answer to ${name}: it does not match the contract: ${issues(checked.error)}`);
      return fail('UNEXPECTED', `sgai answered "${name}" with something this page cannot use; this is a bug in sgai, please report it`);
    }
    // Folders the user added (and their output roots) become places 'added' paths may be.
    if (key === 'libraryList') for (const f of checked.data as unknown[]) learn(f);
    if (key === 'libraryAdd' || key === 'libraryUpdate') learn(checked.data);
    if (key === 'libraryRemove' && (checked.data as { removed: boolean }).removed) guard.forgetFolder((req as { folderId: string }).folderId);
    return ok(checked.data);
  }

  async function pixelsOne(route: string, raw: unknown): Promise<PixelAnswer> {
    const no = (code: string, message: string): never => {
      log(oneLine(`refused pixels ${JSON.stringify(route.slice(0, 80))}: ${code}: ${message}`));
      throw new ApiError({ code, message });
    };
    if (!Object.hasOwn(pixels, route)) return no('BAD_REQUEST', `${JSON.stringify(route.slice(0, 80))} is not an sgai image route`);
    const def = pixels[route as PixelRoute] as PixelRouteDef;
    const parsed = def.req.safeParse(raw);
    if (!parsed.success) return no('BAD_REQUEST', `the image request does not match the contract: ${issues(parsed.error)}`);
    const req = parsed.data;
    // A route names its files either as a photo inside an added folder, or as paths checked like an invoke's.
    if (!def.inFolder && !def.paths) return no('FORBIDDEN', `the image route ${route} does not say which files it reads, so sgai refuses it`);
    try {
      if (def.inFolder) {
        const { folderId, rel } = req as { folderId: string; rel: string };
        await guard.checkInFolder(folderId, rel);
      }
      if (def.paths) await guard.check(def.paths(req));
    } catch (e) {
      return no(e instanceof ApiError ? e.code : 'FORBIDDEN', (e as Error).message);
    }
    return engine.pixels(route, req);
  }

  return { invoke: invokeOne, pixels: pixelsOne, dispose: stopLearning };
}
