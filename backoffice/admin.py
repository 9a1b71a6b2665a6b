from django.contrib import admin

from backoffice.auth import LockoutAuthenticationForm

# The admin's sign-in says plainly when too many failures locked a user name out for a while.
admin.site.login_form = LockoutAuthenticationForm
