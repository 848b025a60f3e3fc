"""Errors a person can act on. Their message is shown to the user as it is, so it is plain English."""


class CollabError(Exception):
    """Something the user asked for cannot be done; the message says why and what to do."""


class NotAMember(CollabError):
    def __init__(self) -> None:
        super().__init__(
            "You haven't joined a school yet. Type `/collab join` and your school's URN or name first."
        )


class NotALead(CollabError):
    def __init__(self) -> None:
        super().__init__("Sorry, only network leads can do that. Ask a lead if you think you should be one.")


class NotFound(CollabError):
    pass


class InvalidInput(CollabError):
    pass
