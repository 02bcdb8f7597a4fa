"""The Train lab: the small 8×8 network (small.py), the chapter's classifier
(chapter.py), their datasets (digits.py) and the runs that train them in worker
threads (sessions.py)."""
