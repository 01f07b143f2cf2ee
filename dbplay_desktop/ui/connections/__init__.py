"""The connections room: connection profiles and the form that edits them."""
