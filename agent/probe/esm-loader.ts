/**
 * The ESM loader hooks (`module.register()`; they run on Node's hooks thread, not the app's). For the main
 * file of a package an adapter knows, the module's source gets one line appended: a self-import of its own
 * namespace, handed to the probe on the app's thread:
 *
 *   import * as __leakAgentNs from '<own url>';
 *   globalThis[Symbol.for('leak-agent.esm')]?.(import.meta.url, __leakAgentNs);
 *
 * It runs after the module body, so every export is initialised; ESM exports are read-only, but the
 * prototypes of exported classes are not, which is all the adapters patch. Nothing else is changed: the
 * source is otherwise byte-for-byte the same, and line numbers of the original lines stay as they were.
 * @internal
 */

/** What `register()` passes as `data`. */
export interface LoaderData {
  packages: string[];
}

interface ResolveResult {
  url: string;
  format?: string | null;
}
interface LoadResult {
  format?: string | null;
  source?: string | ArrayBuffer | Uint8Array | null;
  shortCircuit?: boolean;
}
type NextResolve = (specifier: string, context: unknown) => Promise<ResolveResult>;
type NextLoad = (url: string, context: unknown) => Promise<LoadResult>;

let packages = new Set<string>();
/** Resolved URLs of the bare specifiers of known packages: their main files. */
const mains = new Set<string>();

export function initialize(data: LoaderData | undefined): void {
  packages = new Set(Array.isArray(data?.packages) ? data!.packages : []);
}

export async function resolve(specifier: string, context: unknown, next: NextResolve): Promise<ResolveResult> {
  const result = await next(specifier, context);
  if (packages.has(specifier) && typeof result?.url === 'string') mains.add(result.url);
  return result;
}

export async function load(url: string, context: unknown, next: NextLoad): Promise<LoadResult> {
  const result = await next(url, context);
  if (!mains.has(url) || result.format !== 'module' || result.source == null) return result;
  try {
    const source = typeof result.source === 'string' ? result.source : new TextDecoder().decode(result.source as Uint8Array);
    const tail = `\n;import * as __leakAgentNs from ${JSON.stringify(url)}; globalThis[Symbol.for('leak-agent.esm')]?.(import.meta.url, __leakAgentNs);\n`;
    return { ...result, source: source + tail };
  } catch {
    return result; // never break the app's import
  }
}
