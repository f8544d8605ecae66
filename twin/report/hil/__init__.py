"""The HIL section of a report: realised device series and their validation against the twin."""
