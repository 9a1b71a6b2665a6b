"""The admin site itself is ``backoffice.site.FacesiteAdminSite`` (see ``backoffice.apps``)."""
