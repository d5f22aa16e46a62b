import { type ReactNode, useEffect, useRef, useState } from 'react';

/** The page's title; takes focus when the page opens, so a screen reader announces the new page. */
export function PageHeading({ children }: { children: ReactNode }) {
  const heading = useRef<HTMLHeadingElement>(null);
  useEffect(() => {
    heading.current?.focus();
  }, []);
  return (
    <h1 tabIndex={-1} ref={heading}>
      {children}
    </h1>
  );
}

/** A message for everyone: errors interrupt (role=alert), the rest is announced politely. */
export function Notice({ kind, children }: { kind: 'error' | 'info'; children: ReactNode }) {
  return kind === 'error' ? (
    <p className="notice error" role="alert">
      {children}
    </p>
  ) : (
    <p className="notice info" role="status">
      {children}
    </p>
  );
}

/** A value shown in full with a button that copies it. */
export function CopyField({ label, value }: { label: string; value: string }) {
  const [copied, setCopied] = useState(false);
  const id = `copy-${label.replace(/\W+/g, '-').toLowerCase()}`;
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(value);
      setCopied(true);
    } catch {
      // No clipboard (an insecure origin): select the text, so Ctrl+C copies it.
      const input = document.getElementById(id);
      if (input instanceof HTMLInputElement) input.select();
    }
  };
  return (
    <div className="copy-field">
      <label htmlFor={id}>{label}</label>
      <div className="row">
        <input id={id} readOnly value={value} onFocus={(event) => event.currentTarget.select()} />
        <button type="button" onClick={copy} aria-label={`Copy ${label.toLowerCase()}`}>
          {copied ? 'Copied' : 'Copy'}
        </button>
      </div>
    </div>
  );
}

export function StatusBadge({ status }: { status: string }) {
  return <span className={`badge badge-${status.replace(/[^a-z_]/g, '')}`}>{status.replace('_', ' ')}</span>;
}

export function formatTime(value: string | null | undefined): string {
  if (!value) return '—';
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? value : date.toLocaleString();
}

export function Json({ value, label }: { value: unknown; label: string }) {
  return (
    // Wrapped, never scrolled: a scrolling box would need to be focusable for keyboard users.
    <pre className="json" data-label={label}>
      {value === undefined || value === null ? 'none' : JSON.stringify(value, null, 2)}
    </pre>
  );
}
