import type { ResolvedRequestHttp } from '@magicvideo/shared/http-schemas';
import { useState } from 'preact/hooks';
import { replayRequest } from '../api/create-request-form';
import { curlCommand } from '../api/curl-command';

/** The seed and every parameter the run used, and the same request as a curl command. */
export function RequestParameters({ request, webhookUrl, apiOrigin }: { request: ResolvedRequestHttp; webhookUrl: string | null; apiOrigin: string }) {
  const [copied, setCopied] = useState<string | null>(null);
  const command = curlCommand(apiOrigin, replayRequest(request, webhookUrl));
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(command);
      setCopied('Copied.');
    } catch (error) {
      // clipboard access needs a secure context and permission; the command stays selectable below
      setCopied(`Could not copy (${String(error)}): select the command below.`);
    }
  };
  const rows: [string, string][] = [
    ['Seed', String(request.seed)],
    ['Prompt', request.prompt],
    ['Negative prompt', request.negative_prompt === '' ? '–' : request.negative_prompt],
    ['Steps', String(request.num_inference_steps)],
    ['Guidance scale', String(request.guidance_scale)],
    ['FPS', String(request.fps)],
    ['Sampler', request.sampler],
    ['Interpolation', request.interpolate ? `on, ${request.interp_num_inference_steps} steps` : 'off'],
    ['Super-resolution', request.super_resolution ? `on, ${request.sr_num_inference_steps} steps, noise level ${request.sr_noise_level}` : 'off'],
    ['Formats', request.output_formats.join(', ')],
    ['Webhook URL', webhookUrl ?? '–'],
  ];
  return (
    <section aria-labelledby="parameters-heading">
      <h3 id="parameters-heading">Seed and parameters</h3>
      <dl class="parameters">
        {rows.map(([name, value]) => (
          <div key={name}>
            <dt>{name}</dt>
            <dd data-parameter={name}>{value}</dd>
          </div>
        ))}
      </dl>
      <div class="row">
        <button type="button" onClick={copy}>
          Copy as curl
        </button>
        <span role="status">{copied}</span>
      </div>
      <pre class="curl" aria-label="The same request as a curl command">
        {command}
      </pre>
    </section>
  );
}
