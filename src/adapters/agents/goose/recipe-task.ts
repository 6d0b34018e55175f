import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { ForgeError } from '../../../domain/errors.ts';
import type { AgentContext } from '../../../ports/agent.ts';
import { fitsInOneArgument, MAX_ARG_BYTES } from '../argv-limit.ts';

/**
 * The `--params` value that hands the task to a recipe run. goose refuses `--instructions` with
 * `--recipe`, so a parameter is the only way in, and a parameter is one argument: at most 128 KiB,
 * and visible in `ps`. A recipe that declares `task_description` with `input_type: file` gets the
 * prompt file's path, and goose reads the file into the recipe's template itself, whatever its
 * size. Any other recipe gets the text, as it always has, while it fits in one argument; past
 * that, the attempt is refused with the one-line recipe change that fixes it.
 */
export async function recipeTaskParam(
  agent: string,
  recipe: string,
  ctx: AgentContext,
): Promise<string> {
  if (await declaresFileTask(resolve(ctx.workspace, recipe))) {
    return `task_description=${ctx.promptFile}`;
  }
  const param = `task_description=${ctx.prompt}`;
  if (fitsInOneArgument(param)) return param;
  throw new ForgeError(
    'config',
    `agent "${agent}" (goose): the task is ${Buffer.byteLength(ctx.prompt)} bytes, more than one command-line argument holds (${MAX_ARG_BYTES / 1024} KiB); declare task_description in the recipe ${recipe} with "input_type: file" so goose reads the task from a file`,
  );
}

/** Whether the recipe file declares `task_description` as a file parameter. A recipe Forge cannot
 *  read or parse (goose may find it by name on GOOSE_RECIPE_PATH) counts as not declaring it. */
async function declaresFileTask(file: string): Promise<boolean> {
  let recipe: unknown;
  try {
    recipe = parseYaml(await readFile(file, 'utf8'));
  } catch {
    return false;
  }
  const parameters = (recipe as { parameters?: unknown } | null)?.parameters;
  if (!Array.isArray(parameters)) return false;
  return parameters.some((p: unknown) => {
    const param = p as { key?: unknown; input_type?: unknown } | null;
    return param?.key === 'task_description' && param.input_type === 'file';
  });
}
