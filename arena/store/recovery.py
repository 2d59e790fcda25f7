"""What an interrupted save leaves behind, cleaned when the store opens: comparisons that never got an output,
partial files, and files no record points to."""

from __future__ import annotations

import time

# Files younger than this are never taken for orphans: another process may be between file and record.
ORPHAN_GRACE_S = 120
# A comparison is left without outputs only by a killed process, once it is older than the longest answer.
EMPTY_COMPARISON_GRACE_S = 6 * 3600


class Recovery:
    """The upkeep half of ``Store`` (it brings ``connection``, ``transaction``, ``images``, ``thumbs`` and
    ``orphan_grace_s``)."""

    def recover(self, empty_comparison_grace_s: float = EMPTY_COMPARISON_GRACE_S) -> dict:
        """Clean what an interrupted save left: comparisons that never got an output (the process was killed
        while its models ran), partial files, and files no record points to."""
        grace = self.orphan_grace_s
        with self.transaction() as db:
            empty = db.execute(
                "DELETE FROM comparisons WHERE created_at < ? AND NOT EXISTS "
                "(SELECT 1 FROM outputs o WHERE o.comparison_id = comparisons.id)",
                (time.time() - empty_comparison_grace_s,)).rowcount
        partials = self.images.remove_partials(grace) + self.thumbs.remove_partials(grace)
        db = self.connection()
        used_images = {r[0] for r in db.execute("SELECT sha FROM output_images")}
        used_images |= {r[0] for r in db.execute("SELECT input_image FROM comparisons WHERE input_image IS NOT NULL")}
        used_images |= {r[0] for r in db.execute("SELECT sha FROM vote_images")}  # pictures a vote judged
        used_thumbs = {r[0] for r in db.execute("SELECT thumb FROM outputs WHERE thumb IS NOT NULL")}
        orphans = 0
        for blobs, used in ((self.images, used_images), (self.thumbs, used_thumbs)):
            orphans += sum(blobs.delete_if_older(sha, grace) for sha in blobs.all() - used)
        return {"partials": partials, "orphans": orphans, "empty_comparisons": empty}
