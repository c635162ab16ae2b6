import { inspectModelFolder, ModelContractViolation, type ModelFolderInspection, type TensorDescription } from '@magicvideo/diffusion';

/** `magicvideo models validate|info DIR`: a model folder checked against the contract, or described. */

export interface CommandOutput {
  write(text: string): unknown;
}

function throwIfInvalid(inspection: ModelFolderInspection): asserts inspection is ModelFolderInspection & { manifest: object } {
  if (inspection.violations.length > 0 || inspection.manifest === undefined) {
    throw new ModelContractViolation(inspection.dir, inspection.violations);
  }
}

export async function validateModels(dir: string, out: CommandOutput): Promise<void> {
  const inspection = await inspectModelFolder(dir);
  throwIfInvalid(inspection);
  out.write(`${dir}: valid (${inspection.models.length} models: ${inspection.models.map((m) => m.name).join(', ')})\n`);
}

function megabytes(bytes: number): string {
  return `${(bytes / 1_000_000).toFixed(1)} MB`;
}

function tensorLine(role: 'in ' | 'out', tensor: TensorDescription): string {
  return `    ${role} ${tensor.name.padEnd(22)} ${tensor.dtype.padEnd(8)} [${tensor.shape.join(', ')}]`;
}

export async function describeModels(dir: string, out: CommandOutput): Promise<void> {
  const inspection = await inspectModelFolder(dir);
  throwIfInvalid(inspection);
  const m = inspection.manifest;
  const lines = [
    `${dir}`,
    `  ${m.family} ${m.config_name} v${m.version} (contract ${m.contract_version})`,
    `  key frames ${m.frames} at ${m.sample_size.width}×${m.sample_size.height}, interpolation ×${m.interp_factor} → ${(m.frames - 1) * m.interp_factor + 1} frames, SR ×${m.sr_scale} → ${m.sample_size.width * m.sr_scale}×${m.sample_size.height * m.sr_scale}`,
    `  latents ${m.latent_channels} channels, 1/${m.vae_scale_factor} scale, scaling factor ${m.latent_scaling_factor}`,
    `  text ${m.text.max_length} tokens × ${m.text.hidden_size}; fps ${m.fps.min}–${m.fps.max} (default ${m.fps.default})`,
    `  defaults: ${m.defaults.sampler}, ${m.defaults.num_inference_steps} steps, guidance ${m.defaults.guidance_scale}`,
  ];
  const trainingStatus = m.training?.['status'];
  if (typeof trainingStatus === 'string') lines.push(`  training: ${trainingStatus}`);
  for (const model of inspection.models) {
    lines.push(`  ${model.name} (${model.file}, ${megabytes(model.bytes)})`);
    lines.push(...model.inputs.map((tensor) => tensorLine('in ', tensor)), ...model.outputs.map((tensor) => tensorLine('out', tensor)));
  }
  out.write(`${lines.join('\n')}\n`);
}
