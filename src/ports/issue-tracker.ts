import type { RepoCoordinates } from './git-host.ts';

/** A person (or bot) on a forge, as an issue, comment or webhook names them. */
export interface ForgeUser {
  login: string;
  /** True for bot and app accounts (GitHub `type: "Bot"`, a `[bot]` login). */
  bot: boolean;
}

/** An issue as intake reads it. Pull requests are never returned as issues. */
export interface TrackedIssue {
  number: number;
  title: string;
  body: string;
  /** Label names. */
  labels: string[];
  state: 'open' | 'closed';
  author: ForgeUser;
  /** Web page of the issue, for people. */
  url: string;
  updated_at: string;
}

export interface IssueComment {
  id: number;
  body: string;
  author: ForgeUser;
  created_at: string;
}

/** A pull request as follow-ups read it: enough to tell which job opened it. */
export interface TrackedPull {
  number: number;
  /** The head branch's name (for a fork's pull request, a branch of the fork). */
  head: string;
  body: string;
  state: 'open' | 'closed';
  /** Web page of the pull request, for people. */
  url: string;
}

/** How far a user may act on a repository, as the forge's collaborator-permission endpoint says. */
export type RepoPermission = 'none' | 'read' | 'write' | 'admin';

/**
 * A forge's issues, as Forge's issue intake and the issue sink use them. Errors follow GitHost's
 * rules: ForgeError 'unavailable' for what a retry may fix (network, 5xx, rate limits),
 * 'unauthorized'/'forbidden'/'not_found'/'invalid_request' for what it will not (the message says
 * which token scope or setting to fix). Aborting `signal` aborts the request.
 */
export interface IssueTracker {
  /** Open issues carrying `label`, updated at or after `since` (ISO time; null: all), every page.
   *  Labels are re-checked on the client: a forge may ignore an unknown label filter. */
  listLabelledIssues(
    repo: RepoCoordinates,
    label: string,
    since: string | null,
    signal: AbortSignal,
  ): Promise<TrackedIssue[]>;
  /** null when there is no such issue (or it is a pull request). */
  getIssue(
    repo: RepoCoordinates,
    number: number,
    signal: AbortSignal,
  ): Promise<TrackedIssue | null>;
  /** null when there is no such pull request (or the number is an issue's). */
  getPull(repo: RepoCoordinates, number: number, signal: AbortSignal): Promise<TrackedPull | null>;
  /** Comments on an issue created at or after `since` (null: all), oldest first, every page. */
  listComments(
    repo: RepoCoordinates,
    number: number,
    since: string | null,
    signal: AbortSignal,
  ): Promise<IssueComment[]>;
  /** Posts a comment; returns its id. */
  createComment(
    repo: RepoCoordinates,
    number: number,
    body: string,
    signal: AbortSignal,
  ): Promise<number>;
  /** Replaces a comment's text. ForgeError('not_found') when it was deleted. */
  editComment(
    repo: RepoCoordinates,
    commentId: number,
    body: string,
    signal: AbortSignal,
  ): Promise<void>;
  /** Makes the issue's labels among `managed` exactly `wanted` (a subset of `managed`), leaving
   *  every other label alone; creates a missing label on the repository first. */
  setManagedLabels(
    repo: RepoCoordinates,
    number: number,
    managed: readonly string[],
    wanted: readonly string[],
    signal: AbortSignal,
  ): Promise<void>;
  /** Opens or closes the issue. */
  setIssueState(
    repo: RepoCoordinates,
    number: number,
    state: 'open' | 'closed',
    signal: AbortSignal,
  ): Promise<void>;
  /** What `login` may do on the repository ('none' for a stranger). */
  permission(repo: RepoCoordinates, login: string, signal: AbortSignal): Promise<RepoPermission>;
  /** The account the token belongs to (Forge's own comments are recognised by it). */
  self(signal: AbortSignal): Promise<ForgeUser>;
}
