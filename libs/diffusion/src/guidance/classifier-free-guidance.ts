/**
 * Classifier-free guidance (Ho & Salimans 2022, eq. 6; paper §3.1.3 samples with it):
 *   ε̃ = ε_uncond + s·(ε_cond − ε_uncond)
 * over the model outputs for the empty (or negative) prompt and the prompt, computed in float32
 * in that order, as diffusers' pipelines do (`noise_pred_uncond + guidance_scale *
 * (noise_pred_text - noise_pred_uncond)`). Scale 1 returns the conditional prediction.
 */
export function applyGuidance(uncond: Float32Array, cond: Float32Array, scale: number): Float32Array {
  if (uncond.length !== cond.length) {
    throw new RangeError(
      `guidance needs outputs of one shape: uncond ${uncond.length} vs cond ${cond.length} values`,
    );
  }
  if (!Number.isFinite(scale)) throw new RangeError(`guidance scale must be finite, got ${scale}`);
  const scale32 = Math.fround(scale);
  const guided = new Float32Array(uncond.length);
  for (let i = 0; i < uncond.length; i++) {
    const u = uncond[i] as number;
    guided[i] = Math.fround(u + Math.fround(scale32 * Math.fround((cond[i] as number) - u)));
  }
  return guided;
}
