import { useState } from 'preact/hooks';
import { ApiError, asApiError } from '../api/api-error';
import { type CreateVideoForm, EMPTY_FORM, requestFromForm, SAMPLERS, VIDEO_FORMATS, type VideoFormat } from '../api/create-request-form';
import type { PlaygroundApi } from '../api/playground-api';
import { routeHash } from '../hash-route';
import { ErrorMessage } from './error-message';

type TextField = 'seed' | 'steps' | 'guidanceScale' | 'fps' | 'interpSteps' | 'srSteps';

const NUMBER_FIELDS: { field: TextField; label: string; hint: string; step: string }[] = [
  { field: 'seed', label: 'Seed', hint: 'random when blank', step: '1' },
  { field: 'steps', label: 'Steps', hint: 'key-frame denoising steps', step: '1' },
  { field: 'guidanceScale', label: 'Guidance scale', hint: 'classifier-free guidance', step: 'any' },
  { field: 'fps', label: 'FPS', hint: 'frame-rate condition of the key frames', step: 'any' },
];

const STAGE_STEP_FIELDS: { field: TextField; label: string; hint: string; step: string; enabledBy: 'interpolate' | 'superResolution' }[] = [
  { field: 'interpSteps', label: 'Interpolation steps', hint: 'denoising steps of interpolation', step: '1', enabledBy: 'interpolate' },
  { field: 'srSteps', label: 'Super-resolution steps', hint: 'denoising steps of super-resolution', step: '1', enabledBy: 'superResolution' },
];

/** A labelled number input; blank means the model's default. */
function NumberField(props: { field: TextField; label: string; hint: string; step: string; value: string; disabled?: boolean; onInput: (value: string) => void }) {
  return (
    <div>
      <label for={props.field}>{props.label}</label>
      <input
        id={props.field}
        name={props.field}
        type="number"
        inputMode="decimal"
        step={props.step}
        placeholder="model default"
        aria-describedby={`${props.field}-hint`}
        value={props.value}
        disabled={props.disabled}
        onInput={(event) => props.onInput(event.currentTarget.value)}
      />
      <small id={`${props.field}-hint`}>{props.hint}</small>
    </div>
  );
}

/** The new-video form: the prompt and the main parameters, checked against the API's schema, then POST /v1/videos. */
export function CreateVideoPage({ api, onError }: { api: PlaygroundApi; onError: (error: ApiError) => boolean }) {
  const [form, setForm] = useState<CreateVideoForm>(EMPTY_FORM);
  const [error, setError] = useState<ApiError | null>(null);
  const [sending, setSending] = useState(false);
  const update = (change: Partial<CreateVideoForm>) => setForm((current) => ({ ...current, ...change }));
  const toggleFormat = (format: VideoFormat, on: boolean) =>
    update({ formats: on ? VIDEO_FORMATS.filter((each) => each === format || form.formats.includes(each)) : form.formats.filter((each) => each !== format) });

  const submit = async (event: Event) => {
    event.preventDefault();
    const outcome = requestFromForm(form);
    if (!outcome.ok) {
      setError(new ApiError('InvalidRequest', 'the form has fields the API would refuse', 0, outcome.problems));
      return;
    }
    setSending(true);
    setError(null);
    try {
      const accepted = await api.submit(outcome.request);
      location.hash = routeHash({ page: 'video', id: accepted.id });
    } catch (caught) {
      const apiError = asApiError(caught);
      if (!onError(apiError)) setError(apiError);
    } finally {
      setSending(false);
    }
  };

  return (
    <form class="create-video" onSubmit={submit} noValidate>
      <h2>New video</h2>
      {error !== null && <ErrorMessage error={error} title="Not submitted." />}
      <label for="prompt">Prompt</label>
      <textarea id="prompt" name="prompt" rows={3} required value={form.prompt} onInput={(event) => update({ prompt: event.currentTarget.value })} />
      <label for="negative-prompt">Negative prompt</label>
      <input id="negative-prompt" name="negative-prompt" value={form.negativePrompt} onInput={(event) => update({ negativePrompt: event.currentTarget.value })} />
      <div class="grid">
        {NUMBER_FIELDS.map((field) => (
          <NumberField key={field.field} {...field} value={form[field.field]} onInput={(value) => update({ [field.field]: value })} />
        ))}
        <div>
          <label for="sampler">Sampler</label>
          <select id="sampler" name="sampler" value={form.sampler} onChange={(event) => update({ sampler: event.currentTarget.value as CreateVideoForm['sampler'] })}>
            <option value="">model default</option>
            {SAMPLERS.map((sampler) => (
              <option key={sampler} value={sampler}>
                {sampler}
              </option>
            ))}
          </select>
        </div>
      </div>
      <fieldset>
        <legend>Stages</legend>
        <label class="check">
          <input type="checkbox" name="interpolate" checked={form.interpolate} onChange={(event) => update({ interpolate: event.currentTarget.checked })} />
          Frame interpolation
        </label>
        <label class="check">
          <input type="checkbox" name="super-resolution" checked={form.superResolution} onChange={(event) => update({ superResolution: event.currentTarget.checked })} />
          Super-resolution
        </label>
        <div class="grid">
          {STAGE_STEP_FIELDS.map((field) => (
            <NumberField key={field.field} {...field} value={form[field.field]} disabled={!form[field.enabledBy]} onInput={(value) => update({ [field.field]: value })} />
          ))}
        </div>
      </fieldset>
      <fieldset>
        <legend>Output formats</legend>
        {VIDEO_FORMATS.map((format) => (
          <label class="check" key={format}>
            <input type="checkbox" name="format" value={format} checked={form.formats.includes(format)} onChange={(event) => toggleFormat(format, event.currentTarget.checked)} />
            {format.toUpperCase()}
          </label>
        ))}
      </fieldset>
      <label for="webhook-url">Webhook URL</label>
      <input
        id="webhook-url"
        name="webhook-url"
        type="url"
        inputMode="url"
        placeholder="the API key's default, if any"
        aria-describedby="webhook-url-hint"
        value={form.webhookUrl}
        onInput={(event) => update({ webhookUrl: event.currentTarget.value })}
      />
      <small id="webhook-url-hint">where the video's events are delivered (Standard Webhooks, signed with your key's secret)</small>
      <div class="row">
        <button type="submit" disabled={sending}>
          {sending ? 'Submitting…' : 'Generate video'}
        </button>
      </div>
    </form>
  );
}
