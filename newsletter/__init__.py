"""newsletter: a weekly email digest of news feeds.

The flow of data, one module per stage::

    config  ->  sources  ->  collect  ->  render  ->  compose  ->  transports
                                   \\-> store (drafts, ledger, subscribers) <-/
                                                   deliver (the send loop)

The CLI (``newsletter.cli``), the scheduler (``newsletter.schedule``) and the web app
(``newsletter.web``) are thin shells over these stages.
"""

__version__ = "0.1.0"
