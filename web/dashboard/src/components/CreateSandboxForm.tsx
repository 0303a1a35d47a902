import { useState, type FormEvent } from 'react';
import type { CreateSandboxRequest } from '@sandboxd/client';
import { useCreateSandbox } from '@sandboxd/react';
import { hrefs, navigate } from '../router';
import { ErrorNote } from './ErrorNote';

/**
 * Creates a sandbox. Given a `projectId` it is the project page's "No sandbox yet" panel (template
 * and idle timeout); without one it is the list page's form, which asks for the project id and
 * opens the project's page once the sandbox exists.
 */
export function CreateSandboxForm({ projectId }: { projectId?: string }) {
  const [typedId, setTypedId] = useState('');
  const [template, setTemplate] = useState('hello');
  const [idle, setIdle] = useState('');
  const id = projectId ?? typedId.trim();
  const create = useCreateSandbox(id);

  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (!id) return;
    const request = createRequest(template, idle);
    if (projectId !== undefined) create.mutate(request);
    else create.mutate(request, { onSuccess: (s) => navigate(hrefs.project(s.projectId)) });
  };

  const templateField = (
    <label className="inline">
      Template{' '}
      <input
        value={template}
        onChange={(e) => setTemplate(e.target.value)}
        size={10}
        data-testid="create-template-input"
      />
    </label>
  );
  const submitButton = (
    <button type="submit" className="primary" data-testid="create-button" disabled={!id || create.isPending}>
      {create.isPending ? 'Creating…' : 'Create sandbox'}
    </button>
  );
  const error = <ErrorNote error={create.error} prefix="Could not create" />;

  if (projectId === undefined) {
    return (
      <form className="card create-form row" onSubmit={submit} data-testid="create-form">
        <label className="inline">
          Project{' '}
          <input
            data-testid="create-project-input"
            placeholder="project id"
            value={typedId}
            onChange={(e) => setTypedId(e.target.value)}
          />
        </label>
        {templateField}
        {submitButton}
        {error}
      </form>
    );
  }
  return (
    <form className="card preview-panel" data-testid="create-panel" onSubmit={submit}>
      <h2>No sandbox yet</h2>
      <p className="muted">This project has never had a sandbox.</p>
      <div className="row center-row">
        {templateField}
        <label className="inline">
          Idle timeout (s){' '}
          <input
            value={idle}
            onChange={(e) => setIdle(e.target.value)}
            placeholder="default"
            inputMode="numeric"
            size={7}
            data-testid="create-idle-input"
          />
        </label>
        {submitButton}
      </div>
      {error}
    </form>
  );
}

/** The request for the form's fields: blank template and idle timeout mean the server's defaults. */
function createRequest(template: string, idle: string): CreateSandboxRequest {
  const seconds = Number.parseInt(idle, 10);
  return {
    ...(template.trim() ? { template: template.trim() } : {}),
    ...(Number.isFinite(seconds) && seconds > 0 ? { idleTimeoutSeconds: seconds } : {}),
  };
}
