/**
 * Where each input's output goes: next to the input with a new extension, to the file named by
 * -o (one input), or into the folder named by -o (one or more inputs). Two inputs never share
 * an output name, and an output never has the wrong extension for what is written into it.
 */
import { statSync } from 'node:fs';
import { basename, dirname, extname, resolve } from 'node:path';
import { usage } from './options';

function isFolder(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}

const stem = (p: string) => basename(p, extname(p));

export function planOutputs(
  inputs: string[], output: string | undefined,
  kind: { defaultExt: string; allowedExts: string[]; what: string },
): string[] {
  let outs: string[];
  if (output !== undefined && (inputs.length > 1 || isFolder(output) || /[/\\]$/.test(output))) {
    if (!isFolder(output)) usage(`-o ${output}: with several inputs, -o must name an existing folder`);
    outs = inputs.map((i) => resolve(output, stem(i) + kind.defaultExt));
  } else if (output !== undefined) {
    const ext = extname(output).toLowerCase();
    if (!kind.allowedExts.includes(ext)) {
      usage(`-o ${output}: ${kind.what}; name the output *${kind.allowedExts.join(' or *')}`);
    }
    outs = [resolve(output)];
  } else {
    outs = inputs.map((i) => resolve(dirname(i), stem(i) + kind.defaultExt));
  }
  const seen = new Map<string, string>();
  outs.forEach((o, k) => {
    const prev = seen.get(o);
    if (prev !== undefined) usage(`${prev} and ${inputs[k]} would both be written to ${o}; encode them separately with -o`);
    seen.set(o, inputs[k]);
  });
  return outs;
}


