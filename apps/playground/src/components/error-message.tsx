import type { ApiError } from '../api/api-error';

/** An error as the API named it: its code, its message and any offending fields. Announced to screen readers. */
export function ErrorMessage({ error, title }: { error: ApiError; title?: string }) {
  return (
    <div class="error" role="alert" data-error-code={error.code}>
      <p>
        <strong>{title ?? 'Error'}</strong> <code>{error.code}</code>: {error.message}
      </p>
      {error.fields.length > 0 && (
        <ul>
          {error.fields.map((problem) => (
            <li key={problem.field}>
              <code>{problem.field}</code>: {problem.message}
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}
