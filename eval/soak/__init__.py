"""Faults and load against real processes (``make soak``; CI runs ``all --short``).

    python -m eval.soak kill [--rounds 20] [--articles 12]
        ``kill -9`` of ``newsrag ingest`` at random points of its write phase, each followed by a
        re-run; after every re-run: 0 orphan or missing chunks, 0 chunks without their sentences'
        vectors and facts, 0 keys owned twice, 0 incomplete articles;
        at the end the index (articles, versions, chunks, sentences, earlier versions) is identical to the
        one an uninterrupted run of the same ingests built. Every round updates a third of the
        articles (their URL stays, their text changes), so each round has work to interrupt.
    python -m eval.soak load [--clients 32] [--seconds 60] [--baseline 30]
        ``POST /api/ask`` of ``newsrag serve`` on the MultiHop-RAG dev slice: one client for
        ``--baseline`` s, then that many concurrent clients; errors, p50/p95 latency, throughput,
        and their ratios to the one client of the same run.
    python -m eval.soak chroma [--clients 8] [--down 8] [--articles 12] [--up 10] [--baseline 10]
        ``newsrag serve`` on a ``chroma run`` server (the articles uploaded over HTTP), the Chroma
        server stopped and restarted under load: the statuses while it is down (503 with the
        store's message, never a 500 or a hang), the seconds to recover without restarting
        newsrag, that an article uploaded while it is down is indexed once it is back, and that
        nothing was lost.
    python -m eval.soak big [--mb 9] [--sigterm]
        an unpunctuated file of that size uploaded over HTTP while one client keeps asking: the
        time from upload to done, question and ``/healthz`` latency during the job against before
        it, the server's resident memory, and a small upload made meanwhile (done while the big
        one still runs: not starved); with
        ``--sigterm`` a second such upload is stopped by SIGTERM mid-job and resumed by a restart.
    python -m eval.soak replicas [--rounds 10]
        two ``newsrag serve`` replicas on one ``chroma run`` server, each round one URL and one
        text written through both at the same moment over HTTP: rounds that converged (one live
        version with every origin, the same on both, chosen by the rule of
        ``index.claims.claim``), the seconds until both list it, a deletion through one seen by
        the other, and upload files left (none).
    python -m eval.soak probes [--url URL --user U --password P --token T [--tmp DIR] [--home DIR]]
        security issue 24's HIGH and MEDIUM findings repeated over HTTP, each probe counting its
        breaches (0: the fix holds): a login brute force from one address (32 wrong passwords on
        ``/login/`` from 8 threads; after ``ui.guard.Lockout``'s allowed failures every one 429, the
        right password refused on ``/login/``, ``/login``, ``/login//``, another address let in),
        wrong tokens with ``X-Forwarded-For`` and ``Forwarded`` rotated, files holding the text of
        questions asked through ``/v1`` and the chat's Gradio events (TMPDIR, ``/tmp/newsrag-exports``,
        ``/tmp/gradio``, the home), and what a Markdown renderer makes of a ``/v1`` answer about a
        hostile article (images, scripts, ``javascript:`` and foreign links, linkable addresses).
        Against a server of its own (a login, a token, its TMPDIR in the work folder, the sample
        articles and the hostile one uploaded over HTTP), or the running one at ``--url`` (loopback;
        the hostile article uploaded through the API and removed after). The 9.9 MB upload and the
        replicas' race are ``big`` and ``replicas`` (its ``see``).
    python -m eval.soak all [--short]
        kill, load, chroma and replicas (``--short``, for CI: 1 kill round of 6 articles; 6 articles on a
        Chroma server, one client for 3 s, 8 clients for 6 s, then Chroma down 3 s under them; no
        replicas, which tests/test_replicas.py races in CI).

Each prints one JSON object per scenario (stdout at the end; stderr as each ends) and exits
non-zero when a check fails. Figures taken on a shared, loaded machine are comparable within one
run only: the load and big scenarios measure their own baseline.
"""
