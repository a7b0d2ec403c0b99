/** `sgai models`: the installed models, the default marked with '*'. */
import { defaultModel, listModels } from '../../core';
import type { CommandContext } from './context';

export function modelsCommand(ctx: CommandContext): number {
  const def = defaultModel();
  for (const m of listModels()) {
    const c = m.card;
    ctx.out(`${c.id === def.model.card.id ? '*' : ' '} ${c.id}  N=${c.N} M=${c.M} lambda=${c.lambda}${c.kodak?.psnr ? `  Kodak ${c.kodak.bpp} bpp / ${c.kodak.psnr} dB` : ''}  ${m.weightsPath}`);
  }
  if (def.isTestModel) ctx.out(`* ${def.model.card.id} (untrained test model; no trained weights installed)`);
  return 0;
}
