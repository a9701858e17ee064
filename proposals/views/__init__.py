"""Views of the proposals app: public pages, the proposer's area and staff pages."""
