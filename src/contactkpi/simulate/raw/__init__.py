"""Writers of the raw formats platforms write, from canonical frames (round-trip tests).

``asterisk`` (queue_log), ``connect`` (Amazon Connect CTRs), ``tickets`` (helpdesk export):
each turns the canonical rows into what the platform would have written, so that
``simulate -> write raw -> ingest`` can be compared with the canonical data.
"""
